//! A SQLite [`Store`] for scim-core: one file, durable writes (WAL, synced before a write is
//! answered), optimistic concurrency on versions, uniqueness in a table of its own,
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
//! `not eq`, valuePaths on one element, case folding by `caseExact`, and a literal that is a
//! dateTime compared as an instant with every value that is one (offsets normalised, through
//! the SQL function `scim_instant` and [`scim_filter::Instant`]), as text with the others.
//! Not translated (the engine filters in memory): attributes with a custom type, integers
//! beyond 2^53. An `and` with such a part is pushed down without it (a superset;
//! `filtered: false`); a branch given up leaves nothing in the statement, and a statement
//! SQLite would refuse is never run (the engine then filters everything).
//!
//! A resource with two keys differing only in case (a legacy of earlier writes: PATCH now
//! merges into the key already there) is filtered by the engine: the filter is pushed down
//! for the other resources of its type, which keep their indexes, and the ambiguous ones are
//! added for the engine to check, sort and page (`filtered: false`).
//!
//! Sorting is pushed down for single-valued string, dateTime, number and boolean attributes,
//! in the engine's order (RFC 7644 §3.4.2.3: caseExact strings by code point, the others by
//! lower-casing, dateTimes as instants, absent and null values last ascending and first
//! descending); paging only when both the filter and the sort were.
//!
//! The store must be given the same [`Registry`] as the engine: the translation resolves
//! attributes (type, caseExact, extension) as the engine's compiled filter does.
//!
//! # Indexes
//!
//! The lookups identity providers make do not read every document:
//!
//! - `id eq "…"`: the primary key `(tenant, resource_type, id)`.
//! - `userName`, `externalId`, `displayName` and `emails.value` (of every resource type):
//!   the side table `attr_index (tenant, resource_type, attr, key, id)`, one row per string
//!   a filter on the attribute reads (every email of a user, every element of an odd
//!   array), `key` being the string Unicode-lower-cased exactly as the evaluator folds it.
//!   `eq` is a key lookup; `sw` on a case-insensitive attribute is a key range; on a
//!   caseExact attribute (`externalId`) the lookup finds the case-folded candidates and the
//!   document confirms the exact value. Written with the resource in the same transaction.
//! - `members.value` of groups (and `members[value eq "…"]`): the `value_key` column of the
//!   members table (below).
//! - `co` and `ew` on the case-insensitive attributes of `attr_index` (`userName`,
//!   `displayName`, `emails.value`): a trigram index (SQLite FTS5, `tokenize='trigram
//!   case_sensitive 1'`) over the same folded keys finds the candidates, and each candidate
//!   key is confirmed with the exact test (`instr`, or the key's last bytes). A literal
//!   shorter than three characters (or whose every trigram holds a NUL) has no trigram to
//!   look up: the keys of that attribute in `attr_index` are tested instead, a scan of one
//!   column of short strings rather than of the documents. `externalId` is caseExact: its
//!   substring filters read the documents.
//!
//! An `or` of such comparisons (`id eq "a" or id eq "b" …`, as the engine sends to check
//! members or to find a page of users' groups) becomes one lookup of all the keys. Results
//! are the evaluator's: a property test compares them on random documents and filters.
//!
//! Measured (`benches/benches/store.rs`, `store/<n>/*`): `userName eq` through
//! [`Store::query`] takes about 30 µs at 10,000, 100,000 and 1,000,000 users alike, and
//! `get` about 4 µs; adding one member to a group of 100,000 with
//! [`Store::patch_elements`] takes about 0.27 ms with its durable commit, where replacing
//! the whole group takes about 0.7 s.
//!
//! # Out-of-line group members
//!
//! For a resource type whose core schema is the Group schema, [`Store::out_of_line`] is
//! `members`: the group row holds the group without its members, and each member is a row
//! of `members (tenant, resource_type, owner_id, seq, value_key, element, search)` in
//! insertion order (`seq`), with `value_key` its `value` lower-cased (`members.value` is
//! not caseExact). [`Store::get`] and [`Store::query`] put `members` back (a query whose
//! [`Query::attributes`] leaves `members` out does not read them);
//! [`Store::get_head`] reads the group alone; [`Store::patch_elements`] adds or removes
//! members by value in one transaction without touching the others, so adding one member
//! to a group of 100,000 writes one row and the group's head. Filters on `members`,
//! `members.value`, `members[…]` and the like read the members table; `members.value eq`
//! is an index lookup by `value_key` (also "which groups contain user X").
//!
//! A `members` that is not an array (a shape the schema refuses) stays in the document;
//! such a group, or one with a member that is not an object with a string `value`, is
//! *irregular* and its type falls back to the exact but unindexed translation for
//! membership filters.
//!
//! # References
//!
//! The store [keeps references](Store::keeps_references): [`Store::delete_cascade`] deletes
//! a resource and its side-table rows and removes its `members` rows from every group in
//! one transaction (found through the `members_value` index; each such group gets the next
//! version and `meta.lastModified`, its other members untouched), and a member add checks
//! that the member exists inside the transaction that writes it. A crash leaves the old
//! state or the new one; a DELETE of an id that is gone still removes its memberships.
//!
//! # Schema version
//!
//! The file's layout is versioned with `PRAGMA user_version` (now 3). A file written
//! before the side tables existed (version 0) is migrated when opened: columns and tables
//! are added and every resource is rewritten once (index keys, members moved out of line),
//! in one transaction. A file from before version 2 may hold passwords in clear: they are
//! hashed on open ([`SqliteStore::open_with_passwords`] names the scheme). A file of version
//! 1 or 2 gets its trigram index (version 3) on open, filled from `attr_index` in SQL.
//!
//! # Secrets
//!
//! The engine hands the store only hashes of `returned: never` values (passwords); the
//! `search` column and the index tables leave them out, ids are random version-4 UUIDs, and
//! the database files are readable by their owner only (0600).
//!
//! # Loading
//!
//! [`SqliteStore::create_batch`] stores many resources in one transaction (one durable
//! commit), with the same code as [`Store::create`].

mod layout;
mod pool;
mod references;
mod scan_cost;
mod schema;
mod translate;
mod trigrams;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use scim_core::{
    Cascade, Cascaded, ElementChange, ElementPatch, Query, QueryResult, Reference, ReferenceCheck,
    Referrer, Store, StoreError, StoredResource, UniqueKey, WithReferences,
};
use scim_schema::Registry;
use serde_json::Value;

use layout::{hidden_of, search_doc, without, Element, Row};
pub use pool::PoolOptions;
use pool::{BatchHooks, FileDb, Pool};
use scim_core::secret::{
    default_entropy, random_uuid, Argon2Params, Argon2id, Entropy, PasswordScheme,
};
use scim_core::Sort;
use scim_filter::{AttrPath, CompiledFilter, Filter};
use translate::{order_by, Frag, Layout, Params, Translator};

/// The core Group schema: the `members` of a resource type with it are kept out of line.
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The out-of-line attribute of groups.
const MEMBERS: &str = "members";

/// A [`Store`] in a SQLite database.
///
/// Tables:
///
/// - `resources`: one row per resource. `resource` is the JSON as given (a group without its
///   `members`); `search` is the same JSON with every object key ASCII-lower-cased (SCIM
///   attribute names are case-insensitive) and is what filters read; `ambiguous` marks a
///   resource with two keys differing only in case, which the engine filters itself (the
///   evaluator's choice between them depends on the filter's spelling);
///   `members_key` is the key under which out-of-line elements go back into the resource.
/// - `attr_index (tenant, resource_type, attr, key, id)`: for `userName`, `externalId`,
///   `displayName` and `emails.value`, every string a filter on them reads, Unicode-lower-cased,
///   so `eq` and case-insensitive `sw` are index lookups.
/// - `attr_text (n, tenant, resource_type, attr, key, id)` and the FTS5 table `attr_trigram`
///   (rowid `n`): the same keys of those four attributes, by trigram, for `co` and `ew`.
/// - `members (tenant, resource_type, owner_id, seq, value_key, element, search)`: the
///   `members` of groups, one row per member in order (`seq`), indexed by
///   (tenant, resource_type, value_key, owner_id) for "is X a member" and "which groups
///   contain X".
/// - `unique_keys`: the values that must stay unique.
pub struct SqliteStore {
    core: Arc<Core>,
    pool: Pool,
}

/// What every call needs, shared with the store's threads.
struct Core {
    registry: Registry,
    entropy: Arc<dyn Entropy>,
    /// [`PoolOptions::max_scan`].
    max_scan: u64,
    /// The number of resources of each (tenant, type), as last counted, and when.
    counts: std::sync::Mutex<HashMap<(String, String), (u64, std::time::Instant)>>,
}

/// How long a count of a type's resources is trusted by [`Core::refuse_sure_scans`].
const COUNT_TTL: Duration = Duration::from_secs(5);

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The out-of-line attribute of the resource type `rt`: `members` of a type whose core
/// schema is the Group schema.
fn out_of_line_of(registry: &Registry, rt: &str) -> Option<&'static str> {
    registry
        .resource_type(rt)
        .filter(|t| t.core_schema().id.eq_ignore_ascii_case(GROUP_SCHEMA))
        .map(|_| MEMBERS)
}

/// Whether an entry of `Query::attributes` names `attr` (`members`, `members.display`,
/// `urn:…:Group:members`).
fn names_attribute(entry: &str, attr: &str) -> bool {
    let entry = entry.rsplit(':').next().unwrap_or(entry);
    let entry = entry.split('.').next().unwrap_or(entry);
    entry.eq_ignore_ascii_case(attr)
}

/// A query's SQL, before it runs.
struct Plan {
    /// `SELECT r.id, r.version, r.resource, r.members_key …`.
    sql: String,
    /// `SELECT COUNT(*) …` (when paged), which binds the first `count_params` parameters.
    count_sql: Option<String>,
    count_params: usize,
    params: Params,
    filtered: bool,
    sorted: bool,
    paged: bool,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, in WAL mode: a write is on disk (the WAL
    /// synced, as `synchronous=FULL` would) when the call returns. A file written by an earlier version of this
    /// crate is migrated once (see the crate docs).
    ///
    /// ```no_run
    /// let store = scim_store_sqlite::SqliteStore::open(
    ///     "scim.db",
    ///     scim_schema::Registry::standard(),
    /// )?;
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn open(path: impl AsRef<Path>, registry: Registry) -> Result<Self, StoreError> {
        Self::open_with(path, registry, SqliteOptions::default())
    }

    /// [`SqliteStore::open`], with the scheme that hashes the passwords an older file kept in
    /// clear (layout versions before 2) — the same scheme the engine is configured with
    /// ([`scim_core::Config::passwords`]).
    pub fn open_with_passwords(
        path: impl AsRef<Path>,
        registry: Registry,
        passwords: Arc<dyn PasswordScheme>,
    ) -> Result<Self, StoreError> {
        Self::open_with(
            path,
            registry,
            SqliteOptions::default().passwords(passwords),
        )
    }

    /// [`SqliteStore::open`] with `options`: the password scheme for migrations and the
    /// store's threads (readers, query budget, group commit). The file, and SQLite's `-wal`
    /// and `-shm` files beside it, are readable by their owner only (mode 0600 on Unix).
    ///
    /// ```no_run
    /// use scim_store_sqlite::{PoolOptions, SqliteOptions, SqliteStore};
    /// let mut pool = PoolOptions::default();
    /// pool.readers = 8;
    /// pool.query_budget = std::time::Duration::from_millis(500);
    /// let store = SqliteStore::open_with(
    ///     "scim.db",
    ///     scim_schema::Registry::standard(),
    ///     SqliteOptions::default().pool(pool),
    /// )?;
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn open_with(
        path: impl AsRef<Path>,
        registry: Registry,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        owner_only(path)?;
        let mut conn = Connection::open(path).map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let side = std::path::PathBuf::from(side);
            if side.exists() {
                owner_only(&side)?;
            }
        }
        configure(&conn)?;
        schema::migrate(&mut conn, &registry, &*options.passwords)?;
        let readers = (0..options.pool.readers)
            .map(|_| {
                let reader = Connection::open(path).map_err(unavailable)?;
                configure(&reader)?;
                reader
                    .pragma_update(None, "query_only", true)
                    .map_err(unavailable)?;
                Ok(reader)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let checkpointer = Connection::open(path).map_err(unavailable)?;
        configure(&checkpointer)?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let file = FileDb {
            checkpointer,
            wal: wal.into(),
        };
        Self::assemble(conn, readers, Some(file), registry, options.pool)
    }

    /// A private database in memory (for tests): one connection, which reads and writes.
    ///
    /// ```
    /// let store = scim_store_sqlite::SqliteStore::open_in_memory(
    ///     scim_schema::Registry::standard(),
    /// )?;
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn open_in_memory(registry: Registry) -> Result<Self, StoreError> {
        let mut conn = Connection::open_in_memory().map_err(unavailable)?;
        configure(&conn)?;
        schema::migrate(&mut conn, &registry, &*default_passwords())?;
        Self::assemble(conn, Vec::new(), None, registry, PoolOptions::default())
    }

    fn assemble(
        writer: Connection,
        readers: Vec<Connection>,
        file: Option<FileDb>,
        registry: Registry,
        pool: PoolOptions,
    ) -> Result<Self, StoreError> {
        // With readers, no query runs on the writer: the trigram index's changes can wait
        // for the end of each batch (see `trigrams::deferral`).
        let hooks = (!readers.is_empty()).then_some(BatchHooks {
            begin: trigrams::deferral::begin,
            mark: trigrams::deferral::mark,
            roll_back: trigrams::deferral::roll_back,
            finish: trigrams::deferral::finish,
            abandon: trigrams::deferral::abandon,
        });
        Ok(SqliteStore {
            core: Arc::new(Core {
                registry,
                entropy: default_entropy(),
                max_scan: pool.max_scan,
                counts: std::sync::Mutex::new(HashMap::new()),
            }),
            pool: Pool::start(writer, readers, file, hooks, pool)?,
        })
    }

    /// Stores many new resources of one type in one transaction: all of them or none (the
    /// first error, e.g. a [`StoreError::Conflict`], rolls the batch back). Each is stored
    /// exactly as [`Store::create`] stores it (same code), but the batch pays for one
    /// durable commit instead of one per resource: for loading data, not for requests.
    ///
    /// ```
    /// use scim_core::Store;
    /// let store = scim_store_sqlite::SqliteStore::open_in_memory(
    ///     scim_schema::Registry::standard(),
    /// )?;
    /// let created = store.create_batch(
    ///     "default",
    ///     "User",
    ///     vec![
    ///         (serde_json::json!({"userName": "a"}), Vec::new()),
    ///         (serde_json::json!({"userName": "b"}), Vec::new()),
    ///     ],
    /// )?;
    /// assert_eq!(created.len(), 2);
    /// let got = scim_core::block_on(store.get("default", "User", &created[1].id))?;
    /// assert_eq!(got.map(|r| r.resource["userName"].clone()), Some("b".into()));
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn create_batch(
        &self,
        tenant: &str,
        resource_type: &str,
        resources: Vec<(Value, Vec<UniqueKey>)>,
    ) -> Result<Vec<StoredResource>, StoreError> {
        let core = Arc::clone(&self.core);
        let (tenant, rt) = (tenant.to_owned(), resource_type.to_owned());
        scim_core::block_on(self.pool.write(move |tx| {
            let mut out = Vec::with_capacity(resources.len());
            for (resource, unique) in resources {
                out.push(core.create_in(tx, &tenant, &rt, resource, &unique)?);
            }
            Ok(out)
        }))
    }
}

impl Core {
    /// A random version-4 UUID: nobody can guess one id from another.
    fn next_id(&self) -> Result<String, StoreError> {
        random_uuid(&*self.entropy).map_err(|e| StoreError::Unavailable(format!("no id: {e}")))
    }

    pub(crate) fn ool(&self, rt: &str) -> Option<&'static str> {
        out_of_line_of(&self.registry, rt)
    }

    /// [`Store::create`] inside `tx`.
    fn create_in(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        mut resource: Value,
        unique: &[UniqueKey],
    ) -> Result<StoredResource, StoreError> {
        // Another store on the same file may have taken an id: draw again.
        let id = loop {
            let id = self.next_id()?;
            if current_version(tx, tenant, rt, &id)?.is_none() {
                break id;
            }
        };
        check_unique(tx, tenant, rt, &id, unique)?;
        if let Value::Object(m) = &mut resource {
            m.insert("id".into(), Value::String(id.clone()));
        }
        let row = Row::of(&resource, &id, self.ool(rt), &hidden_of(&self.registry, rt))?;
        tx.prepare_cached(
            "INSERT INTO resources (tenant, resource_type, id, version, resource, search, \
             ambiguous, created, last_modified, members_key, irregular) \
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                tenant,
                rt,
                id,
                row.resource,
                row.search,
                row.ambiguous,
                row.created,
                row.last_modified,
                row.out_of_line.as_ref().map(|o| o.key.as_str()),
                row.irregular
            ])
        })
        .map_err(unavailable)?;
        write_side_tables(tx, tenant, rt, &id, &row, false)?;
        index_unique(tx, tenant, rt, &id, unique)?;
        Ok(StoredResource {
            id,
            version: 1,
            resource,
        })
    }

    /// The SQL for `query`: what is pushed down, and how; never a statement SQLite refuses
    /// (see [`statement_fits`]): a filter SQL cannot run is left to the engine.
    fn plan(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        query: &Query<'_>,
    ) -> Result<Plan, StoreError> {
        let plan = self.pushed_down_plan(conn, tenant, rt, query)?;
        let fits = statement_fits(conn, &plan.sql, plan.params.values.len())
            && plan
                .count_sql
                .as_ref()
                .is_none_or(|c| statement_fits(conn, c, plan.count_params));
        // A translation bug, not a property of the filter: loud in tests, harmless in
        // production.
        debug_assert!(fits, "SQLite refuses the translation: {}", plan.sql);
        Ok(if fits {
            plan
        } else {
            unfiltered_plan(tenant, rt, query)
        })
    }

    /// The SQL for `query` with as much pushed down as is exact.
    ///
    /// Resources with keys duplicated by case (`ambiguous`, a legacy of writes before
    /// documents were canonical) are the evaluator's alone: the filter is pushed down for
    /// the other resources of the type, which keep their indexes, and the ambiguous ones
    /// are added unfiltered (through the partial index `resources_ambiguous`) for the
    /// engine to filter, sort and page in memory with the rest.
    fn pushed_down_plan(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        query: &Query<'_>,
    ) -> Result<Plan, StoreError> {
        let mut params = Params::default();
        params.push(tenant.to_owned());
        params.push(rt.to_owned());
        let schema = self.registry.resource_type(rt);
        let wants_pushdown = query.filter.is_some() || query.sort.is_some();
        let (ambiguous, irregular) = if wants_pushdown {
            conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM resources WHERE tenant = ?1 \
                 AND resource_type = ?2 AND ambiguous = 1), \
                 EXISTS (SELECT 1 FROM resources WHERE tenant = ?1 \
                 AND resource_type = ?2 AND irregular = 1)",
            )
            .and_then(|mut s| {
                s.query_row(params![tenant, rt], |r| {
                    Ok((r.get::<_, bool>(0)?, r.get::<_, bool>(1)?))
                })
            })
            .map_err(unavailable)?
        } else {
            (false, false)
        };
        let layout = Layout {
            out_of_line: self.ool(rt),
            irregular,
        };

        let frag = match (query.filter, &schema) {
            (None, _) if query.compiled.is_none() => Frag::Exact(String::new()),
            (Some(filter), Some(schema)) => {
                Translator::new(schema, &mut params, layout).translate(filter)
            }
            _ => Frag::All,
        };
        let (where_sql, filtered) = match &frag {
            Frag::Exact(s) if s.is_empty() => (String::new(), true),
            Frag::Exact(s) => (format!(" AND {s}"), true),
            Frag::Superset(s) => (format!(" AND {s}"), false),
            // `translate` turns lookups into SQL.
            Frag::All | Frag::Ids(_) => (String::new(), false),
        };
        // The ambiguous resources are read apart, and the engine finishes the job.
        let apart = ambiguous && !where_sql.is_empty();
        let filtered = filtered && !apart;
        // The COUNT binds only the filter's parameters.
        let count_params = params.values.len();
        // An ambiguous resource's sort value is the engine's choice, as its filter is.
        let order = match (query.sort, &schema) {
            (None, _) => Some(String::new()),
            (Some(_), _) if ambiguous => None,
            (Some(sort), Some(schema)) => {
                order_by(schema, sort.path, sort.descending, &mut params).map(|o| format!("{o}, "))
            }
            _ => None,
        };
        let sorted = order.is_some();
        let paged = filtered && sorted;
        let columns = "r.id, r.version, r.resource, r.members_key";
        let scope = "FROM resources AS r WHERE r.tenant = ?1 AND r.resource_type = ?2";
        let base = if apart {
            format!("{scope} AND r.ambiguous = 0{where_sql}")
        } else {
            format!("{scope}{where_sql}")
        };
        let count_sql = paged.then(|| format!("SELECT COUNT(*) {base}"));
        let mut sql = if apart {
            format!(
                // The partial index, not a walk of the type in `id` order for the ORDER BY.
                "SELECT {columns} {base} UNION ALL SELECT {columns} \
                 FROM resources AS r INDEXED BY resources_ambiguous \
                 WHERE r.tenant = ?1 AND r.resource_type = ?2 AND r.ambiguous = 1 ORDER BY 1"
            )
        } else {
            format!(
                "SELECT {columns} {base} ORDER BY {}r.id",
                order.unwrap_or_default()
            )
        };
        if paged {
            let limit = params.push(i64::try_from(query.count).unwrap_or(-1));
            let offset =
                params.push(i64::try_from(query.start_index.max(1) - 1).unwrap_or(i64::MAX));
            sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        }
        Ok(Plan {
            sql,
            count_sql,
            count_params,
            params,
            filtered,
            sorted,
            paged,
        })
    }

    /// [`StoreError::TooExpensive`] before anything runs when `query`'s filter has terms no
    /// index answers and no index narrows, and testing them on every resource of the type
    /// would take more than [`PoolOptions::max_scan`] tests (see [`scan_cost`]). The type's
    /// size is counted only for such a filter, and the count is kept a few seconds.
    fn refuse_sure_scans(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        query: &Query<'_>,
    ) -> Result<(), StoreError> {
        let Some(filter) = query.filter else {
            return Ok(());
        };
        let cost = scan_cost::cost(filter, self.ool(rt));
        if cost.anchored || cost.scan_terms == 0 {
            return Ok(());
        }
        let key = (tenant.to_owned(), rt.to_owned());
        let cached = self
            .counts
            .lock()
            .ok()
            .and_then(|c| c.get(&key).copied())
            .filter(|(_, at)| at.elapsed() < COUNT_TTL);
        let rows = match cached {
            Some((rows, _)) => rows,
            None => {
                let rows: i64 = conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM resources WHERE tenant = ?1 AND resource_type = ?2",
                    )
                    .and_then(|mut s| s.query_row(params![tenant, rt], |r| r.get(0)))
                    .map_err(unavailable)?;
                let rows = u64::try_from(rows).unwrap_or(0);
                if let Ok(mut counts) = self.counts.lock() {
                    counts.insert(key, (rows, std::time::Instant::now()));
                }
                rows
            }
        };
        cost.check(rows, self.max_scan)
    }

    fn query_sync(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        query: &Query<'_>,
    ) -> Result<QueryResult, StoreError> {
        self.refuse_sure_scans(conn, tenant, rt, query)?;
        let plan = self.plan(conn, tenant, rt, query)?;
        let total = match &plan.count_sql {
            Some(count_sql) => {
                let n: i64 = conn
                    .prepare_cached(count_sql)
                    .and_then(|mut s| {
                        s.query_row(
                            params_from_iter(plan.params.values[..plan.count_params].iter()),
                            |r| r.get(0),
                        )
                    })
                    .map_err(unavailable)?;
                Some(usize::try_from(n).unwrap_or(0))
            }
            None => None,
        };
        // Out-of-line elements are read only when the engine may look at them: it asked
        // for them, or it finishes the filter or the sort in memory.
        let load_members = self.ool(rt).is_some_and(|attr| match query.attributes {
            None => true,
            Some(list) => {
                list.iter().any(|a| names_attribute(a, attr))
                    || (query.filter.is_some() && !plan.filtered)
                    || (query.sort.is_some() && !plan.sorted)
            }
        });
        let mut stmt = conn.prepare_cached(&plan.sql).map_err(unavailable)?;
        let rows = stmt
            .query_map(params_from_iter(plan.params.values.iter()), |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(unavailable)?;
        let mut resources = Vec::new();
        for row in rows {
            let (id, version, text, members_key) = row.map_err(unavailable)?;
            let mut resource = serde_json::from_str(&text).map_err(unavailable)?;
            if let (true, Some(key)) = (load_members, members_key) {
                attach_members(conn, tenant, rt, &id, &mut resource, key)?;
            }
            resources.push(StoredResource {
                id,
                version: u64::try_from(version).unwrap_or(0),
                resource,
            });
        }
        Ok(QueryResult {
            total_results: total.unwrap_or(resources.len()),
            resources,
            filtered: plan.filtered,
            sorted: plan.sorted,
            paged: plan.paged,
        })
    }
}

/// What every connection of the store needs: durable commits, a busy timeout, and the SQL
/// functions the translated filters call.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    // Every statement the store runs is prepared once per connection (the translated
    // filters' shapes included): SQLite's parser and planner cost more than most lookups.
    conn.set_prepared_statement_cache_capacity(256);
    // Without the query planner stability guarantee, SQLite compares bound values with the
    // partial indexes' `WHERE` terms while planning and re-prepares the statement each time
    // a parameter is bound again: every cached statement would be parsed and planned anew
    // on every call. The plans do not depend on bound values (`ambiguous = 1` is literal).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(unavailable)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(unavailable)?;
    // Temporary files (the savepoint journal of each write in a group commit, sorts) stay in
    // memory: a batch would otherwise create, write and unlink a file.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(unavailable)?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(unavailable)?;
    // SCIM's case-insensitive comparisons fold with Unicode lower-casing (SQLite's `lower`
    // folds ASCII only).
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
    // dateTime values compare as instants (RFC 7643 §2.3.5), as the evaluator compares them:
    // a text key that sorts as the instant does, NULL for text that is no dateTime.
    conn.create_scalar_function(
        "scim_instant",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t)
                    .ok()
                    .and_then(scim_filter::Instant::parse)
                    .map(translate::instant_key),
                _ => None,
            })
        },
    )
    .map_err(unavailable)?;
    Ok(())
}

/// How [`SqliteStore::open_with`] opens a database.
///
/// ```
/// let o = scim_store_sqlite::SqliteOptions::default();
/// assert_eq!(o.pool.readers, 4);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// The scheme that hashes passwords an older file kept in clear (see
    /// [`SqliteStore::open_with_passwords`]). Default: the engine's default Argon2id.
    pub passwords: Arc<dyn PasswordScheme>,
    /// The store's threads.
    pub pool: PoolOptions,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            passwords: default_passwords(),
            pool: PoolOptions::default(),
        }
    }
}

impl std::fmt::Debug for SqliteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteOptions")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl SqliteOptions {
    /// Sets the password scheme.
    pub fn passwords(mut self, passwords: Arc<dyn PasswordScheme>) -> Self {
        self.passwords = passwords;
        self
    }

    /// Sets the thread options.
    pub fn pool(mut self, pool: PoolOptions) -> Self {
        self.pool = pool;
        self
    }
}

/// Whether SQLite accepts `sql` bound with `params` values: it prepares, and its highest
/// parameter is the last one (SQLite refuses a statement bound with more values than it
/// uses, and a filter too deep or too wide for its limits).
fn statement_fits(conn: &Connection, sql: &str, params: usize) -> bool {
    conn.prepare_cached(sql)
        .is_ok_and(|s| s.parameter_count() == params)
}

/// Every resource of the type in `id` order, for the engine to filter, sort and page.
fn unfiltered_plan(tenant: &str, rt: &str, query: &Query<'_>) -> Plan {
    let mut params = Params::default();
    params.push(tenant.to_owned());
    params.push(rt.to_owned());
    Plan {
        sql: "SELECT r.id, r.version, r.resource, r.members_key FROM resources AS r \
              WHERE r.tenant = ?1 AND r.resource_type = ?2 ORDER BY r.id"
            .to_owned(),
        count_sql: None,
        count_params: 2,
        params,
        filtered: query.filter.is_none() && query.compiled.is_none(),
        sorted: query.sort.is_none(),
        paged: false,
    }
}

/// The scheme [`SqliteStore::open`] hashes legacy cleartext passwords with: the engine's
/// default ([`scim_core::Config::passwords`]).
fn default_passwords() -> Arc<dyn PasswordScheme> {
    Arc::new(Argon2id::new(Argon2Params::default(), default_entropy()))
}

/// Creates `path` readable and writable by its owner only, or takes the other users' access
/// away from an existing file (SQLite gives its `-wal` and `-shm` files the database file's
/// mode).
fn owner_only(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return Ok(());
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Reads the out-of-line elements of `id` (in order) into `resource` under `key`.
fn attach_members(
    conn: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    resource: &mut Value,
    key: String,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT element FROM members WHERE tenant = ?1 AND resource_type = ?2 \
             AND owner_id = ?3 ORDER BY seq",
        )
        .map_err(unavailable)?;
    let mut rows = stmt.query(params![tenant, rt, id]).map_err(unavailable)?;
    // One parse of the whole array.
    let mut text = String::from("[");
    while let Some(row) = rows.next().map_err(unavailable)? {
        if text.len() > 1 {
            text.push(',');
        }
        let element = row.get_ref(0).map_err(unavailable)?;
        text.push_str(element.as_str().map_err(unavailable)?);
    }
    text.push(']');
    let elements: Value = serde_json::from_str(&text).map_err(unavailable)?;
    if let Value::Object(m) = resource {
        m.insert(key, elements);
    }
    Ok(())
}

/// Fills `attr_index` and `members` for a stored row (`existing`: first drop what the
/// resource had).
pub(crate) fn write_side_tables(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    row: &Row,
    existing: bool,
) -> Result<(), StoreError> {
    write_index_keys(tx, tenant, rt, id, &row.keys, existing)?;
    trigrams::write(tx, tenant, rt, id, &row.keys, existing)?;
    if existing {
        tx.prepare_cached(
            "DELETE FROM members WHERE tenant = ?1 AND resource_type = ?2 AND owner_id = ?3",
        )
        .and_then(|mut s| s.execute(params![tenant, rt, id]))
        .map_err(unavailable)?;
    }
    if let Some(ool) = &row.out_of_line {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO members (tenant, resource_type, owner_id, seq, value_key, element, \
                 search) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(unavailable)?;
        for (seq, e) in (1i64..).zip(&ool.elements) {
            insert
                .execute(params![
                    tenant,
                    rt,
                    id,
                    seq,
                    e.value_key,
                    e.element,
                    e.search
                ])
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Makes the `attr_index` rows of `id` the `keys` (`existing`: the resource may have rows
/// already). Writes only the difference from what is stored, in key order: a PATCH of one
/// email of a user with 25,000 deletes one row and inserts one, instead of rewriting 25,000.
fn write_index_keys(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    keys: &[(&'static str, String)],
    existing: bool,
) -> Result<(), StoreError> {
    if existing && keys.is_empty() {
        tx.prepare_cached(
            "DELETE FROM attr_index WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
        )
        .and_then(|mut s| s.execute(params![tenant, rt, id]))
        .map_err(unavailable)?;
        return Ok(());
    }
    let mut new: Vec<(&str, &str)> = keys.iter().map(|(a, k)| (*a, k.as_str())).collect();
    new.sort_unstable();
    new.dedup();
    let mut old: Vec<(String, String)> = Vec::new();
    if existing {
        let mut stmt = tx
            .prepare_cached(
                "SELECT attr, key FROM attr_index INDEXED BY attr_index_owner \
                 WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3 ORDER BY attr, key",
            )
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params![tenant, rt, id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(unavailable)?;
        for row in rows {
            old.push(row.map_err(unavailable)?);
        }
        // Already in order (the index's); the sort only confirms it, in linear time.
        old.sort_unstable();
    }
    // One merge of the two sorted lists: rows only in `old` go, rows only in `new` come.
    let mut gone: Vec<(&str, &str)> = Vec::new();
    let mut added: Vec<(&str, &str)> = Vec::with_capacity(new.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let o = old.get(i).map(|(a, k)| (a.as_str(), k.as_str()));
        match (o, new.get(j).copied()) {
            (Some(o), Some(n)) if o == n => {
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o < n => {
                gone.push(o);
                i += 1;
            }
            (Some(o), None) => {
                gone.push(o);
                i += 1;
            }
            (_, Some(n)) => {
                added.push(n);
                j += 1;
            }
            (None, None) => break,
        }
    }
    if !gone.is_empty() {
        let mut delete = tx
            .prepare_cached(
                "DELETE FROM attr_index WHERE tenant = ?1 AND resource_type = ?2 \
                 AND attr = ?3 AND key = ?4 AND id = ?5",
            )
            .map_err(unavailable)?;
        for (attr, key) in gone {
            delete
                .execute(params![tenant, rt, attr, key, id])
                .map_err(unavailable)?;
        }
    }
    // Many rows per statement: a user with 25,000 emails is 25,000 rows.
    const ROWS: usize = 64;
    let values = |rows: usize| {
        (0..rows)
            .map(|r| format!("(?1, ?2, ?{}, ?{}, ?3)", 4 + 2 * r, 5 + 2 * r))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let insert_sql = |rows: usize| {
        format!(
            "INSERT OR IGNORE INTO attr_index (tenant, resource_type, attr, key, id) VALUES {}",
            values(rows)
        )
    };
    let mut chunks = added.chunks_exact(ROWS);
    if chunks.len() > 0 {
        let mut insert = tx.prepare_cached(&insert_sql(ROWS)).map_err(unavailable)?;
        for chunk in &mut chunks {
            let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&tenant, &rt, &id];
            for (attr, key) in chunk {
                bound.push(attr);
                bound.push(key);
            }
            insert.execute(&bound[..]).map_err(unavailable)?;
        }
    }
    let mut insert = tx.prepare_cached(&insert_sql(1)).map_err(unavailable)?;
    for (attr, key) in chunks.remainder() {
        insert
            .execute(params![tenant, rt, id, attr, key])
            .map_err(unavailable)?;
    }
    Ok(())
}

fn check_unique(
    tx: &Connection,
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
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    unique: &[UniqueKey],
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "DELETE FROM unique_keys WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
    )
    .and_then(|mut s| s.execute(params![tenant, rt, id]))
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
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
) -> Result<Option<i64>, StoreError> {
    tx.prepare_cached(
        "SELECT version FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![tenant, rt, id], |r| r.get(0))
            .optional()
    })
    .map_err(unavailable)
}

/// A version as SQLite stores it; one it cannot hold matches no row.
fn version_param(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(-1)
}

/// Whether `id` has any out-of-line element, and any irregular one (no string `value`).
fn member_state(
    tx: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
) -> Result<(bool, bool), StoreError> {
    tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM members WHERE tenant = ?1 AND resource_type = ?2 \
         AND owner_id = ?3), \
         EXISTS (SELECT 1 FROM members WHERE tenant = ?1 AND resource_type = ?2 \
         AND value_key IS NULL AND owner_id = ?3)",
        params![tenant, rt, id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(unavailable)
}

/// Writes `row` as the next version of `(tenant, type, id)` if its version is `expected`,
/// with the given `(ambiguous, members_key, irregular)`; [`StoreError::VersionMismatch`]
/// when another write came first.
fn update_row(
    tx: &Connection,
    (tenant, rt, id): (&str, &str, &str),
    expected: i64,
    row: &Row,
    (ambiguous, members_key, irregular): (bool, Option<&str>, bool),
) -> Result<(), StoreError> {
    let updated = tx
        .execute(
            "UPDATE resources SET version = version + 1, resource = ?5, search = ?6, \
             ambiguous = ?7, created = ?8, last_modified = ?9, members_key = ?10, \
             irregular = ?11 \
             WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3 AND version = ?4",
            params![
                tenant,
                rt,
                id,
                expected,
                row.resource,
                row.search,
                ambiguous,
                row.created,
                row.last_modified,
                members_key,
                irregular
            ],
        )
        .map_err(unavailable)?;
    if updated == 0 {
        return Err(StoreError::VersionMismatch);
    }
    Ok(())
}

impl Core {
    /// [`Store::patch_elements`] inside `tx`.
    #[allow(clippy::too_many_arguments)]
    fn patch_elements_in(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
        check: Option<&ReferenceCheck>,
    ) -> Result<ElementPatch, StoreError> {
        let attr = self
            .ool(rt)
            .filter(|a| change.attribute.eq_ignore_ascii_case(a))
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "`{}` of {rt} is not kept out of line",
                    change.attribute
                ))
            })?;
        {
            let expected = version_param(expected_version);
            let current: Option<(i64, Option<String>, bool)> = tx
                .query_row(
                    "SELECT version, members_key, ambiguous FROM resources \
                     WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
                    params![tenant, rt, id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let (old_key, old_ambiguous) = match current {
                None => return Err(StoreError::NotFound),
                Some((v, _, _)) if v != expected => return Err(StoreError::VersionMismatch),
                Some((_, key, ambiguous)) => (key, ambiguous),
            };
            // In this transaction: a member deleted since the engine's check is refused.
            references::check(tx, tenant, check)?;
            let mut changed = 0usize;
            if change.clear {
                changed += tx
                    .execute(
                        "DELETE FROM members WHERE tenant = ?1 AND resource_type = ?2 \
                         AND owner_id = ?3",
                        params![tenant, rt, id],
                    )
                    .map_err(unavailable)?;
            }
            {
                let mut remove = tx
                    .prepare_cached(
                        // Without the hint SQLite 3.50 walks the group's primary-key range
                        // (every member) instead of this index: 8 ms on 100,000 members.
                        "DELETE FROM members INDEXED BY members_value \
                         WHERE tenant = ?1 AND resource_type = ?2 \
                         AND value_key = ?4 AND owner_id = ?3",
                    )
                    .map_err(unavailable)?;
                for value in &change.removed {
                    changed += remove
                        .execute(params![tenant, rt, id, value.to_lowercase()])
                        .map_err(unavailable)?;
                }
            }
            let mut added_ambiguous = false;
            if !change.added.is_empty() {
                let mut seq: i64 = tx
                    .query_row(
                        "SELECT seq FROM members WHERE tenant = ?1 AND resource_type = ?2 \
                         AND owner_id = ?3 ORDER BY seq DESC LIMIT 1",
                        params![tenant, rt, id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(unavailable)?
                    .unwrap_or(0);
                // A value present already is skipped (RFC 7644 §3.5.2.1).
                let mut add = tx
                    .prepare_cached(
                        "INSERT INTO members (tenant, resource_type, owner_id, seq, value_key, \
                         element, search) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 \
                         WHERE ?5 IS NULL OR NOT EXISTS (SELECT 1 FROM members \
                         INDEXED BY members_value WHERE tenant = ?1 AND resource_type = ?2 AND value_key = ?5 \
                         AND owner_id = ?3)",
                    )
                    .map_err(unavailable)?;
                for element in &change.added {
                    let (search, ambiguous) = search_doc(element);
                    let e = Element::of(element, &search)?;
                    seq += 1;
                    let n = add
                        .execute(params![
                            tenant,
                            rt,
                            id,
                            seq,
                            e.value_key,
                            e.element,
                            e.search
                        ])
                        .map_err(unavailable)?;
                    added_ambiguous |= ambiguous && n > 0;
                    changed += n;
                }
            }
            if changed == 0 && !head_changed {
                // Nothing to write: the transaction rolls back when dropped.
                return Ok(ElementPatch {
                    version: expected_version,
                    changed: false,
                });
            }
            check_unique(tx, tenant, rt, id, &unique)?;
            let head = without(head, attr);
            let row = Row::of(&head, id, None, &hidden_of(&self.registry, rt))?;
            let (has_members, irregular) = member_state(tx, tenant, rt, id)?;
            let members_key = has_members.then(|| old_key.unwrap_or_else(|| attr.to_owned()));
            // Sticky until the next replace: which part of the old resource was ambiguous is
            // not recorded, and a false `ambiguous` would make push-down inexact.
            let ambiguous = row.ambiguous || added_ambiguous || old_ambiguous;
            let members_key = members_key.as_deref();
            update_row(
                tx,
                (tenant, rt, id),
                expected,
                &row,
                (ambiguous, members_key, irregular),
            )?;
            write_index_keys(tx, tenant, rt, id, &row.keys, true)?;
            trigrams::write(tx, tenant, rt, id, &row.keys, true)?;
            index_unique(tx, tenant, rt, id, &unique)?;
            Ok(ElementPatch {
                version: expected_version + 1,
                changed: true,
            })
        }
    }

    /// The resource `id` with its version and its `members_key`.
    fn read(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> Result<Option<(StoredResource, Option<String>)>, StoreError> {
        let row: Option<(i64, String, Option<String>)> = conn
            .prepare_cached(
                "SELECT version, resource, members_key FROM resources \
                 WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![tenant, rt, id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(unavailable)?;
        row.map(|(version, text, key)| {
            Ok((
                StoredResource {
                    id: id.to_owned(),
                    version: u64::try_from(version).unwrap_or(0),
                    resource: serde_json::from_str(&text).map_err(unavailable)?,
                },
                key,
            ))
        })
        .transpose()
    }
}

impl Core {
    /// [`Store::get`] on `conn`.
    fn get_in(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let Some((mut stored, key)) = self.read(conn, tenant, rt, id)? else {
            return Ok(None);
        };
        if let Some(key) = key {
            attach_members(conn, tenant, rt, id, &mut stored.resource, key)?;
        }
        Ok(Some(stored))
    }

    /// [`Store::get_head`] on `conn`.
    fn get_head_in(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        Ok(self.read(conn, tenant, rt, id)?.map(|(mut stored, _)| {
            if let Some(attr) = self.ool(rt) {
                stored.resource = without(stored.resource, attr);
            }
            stored
        }))
    }

    /// [`Store::replace`] inside `tx`.
    #[allow(clippy::too_many_arguments)]
    fn replace_in(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: &[UniqueKey],
        check: Option<&ReferenceCheck>,
    ) -> Result<StoredResource, StoreError> {
        let expected = version_param(expected_version);
        match current_version(tx, tenant, rt, id)? {
            None => return Err(StoreError::NotFound),
            Some(v) if v != expected => return Err(StoreError::VersionMismatch),
            Some(_) => {}
        }
        references::check(tx, tenant, check)?;
        check_unique(tx, tenant, rt, id, unique)?;
        let row = Row::of(&resource, id, self.ool(rt), &hidden_of(&self.registry, rt))?;
        let flags = (
            row.ambiguous,
            row.out_of_line.as_ref().map(|o| o.key.as_str()),
            row.irregular,
        );
        update_row(tx, (tenant, rt, id), expected, &row, flags)?;
        write_side_tables(tx, tenant, rt, id, &row, true)?;
        index_unique(tx, tenant, rt, id, unique)?;
        Ok(StoredResource {
            id: id.to_owned(),
            version: expected_version + 1,
            resource,
        })
    }

    /// [`Store::delete`] inside `tx`.
    fn delete_in(
        &self,
        tx: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        if !references::delete_row(tx, tenant, rt, id, expected_version)? {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// A [`Query`] that owns what it borrows, to travel to a reader thread.
struct OwnedQuery {
    filter: Option<Filter>,
    compiled: Option<CompiledFilter>,
    sort: Option<(AttrPath, bool)>,
    start_index: usize,
    count: usize,
    attributes: Option<Vec<String>>,
}

impl OwnedQuery {
    fn of(q: &Query<'_>) -> Self {
        OwnedQuery {
            filter: q.filter.cloned(),
            compiled: q.compiled.cloned(),
            sort: q.sort.map(|s| (s.path.clone(), s.descending)),
            start_index: q.start_index,
            count: q.count,
            attributes: q
                .attributes
                .map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    /// Runs `f` with the [`Query`] this is.
    fn with<R>(&self, f: impl FnOnce(&Query<'_>) -> R) -> R {
        let attributes: Option<Vec<&str>> = self
            .attributes
            .as_ref()
            .map(|a| a.iter().map(String::as_str).collect());
        f(&Query {
            filter: self.filter.as_ref(),
            compiled: self.compiled.as_ref(),
            sort: self.sort.as_ref().map(|(path, descending)| Sort {
                path,
                descending: *descending,
            }),
            start_index: self.start_index,
            count: self.count,
            attributes: attributes.as_deref(),
        })
    }
}

impl Store for SqliteStore {
    fn get(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool
            .read(move |conn| core.get_in(conn, &tenant, &rt, &id))
    }

    fn create(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        self.create_checked(tenant, rt, resource, unique, None)
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
        self.replace_checked(tenant, rt, id, expected_version, resource, unique, None)
    }

    fn delete(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool
            .write(move |tx| core.delete_in(tx, &tenant, &rt, &id, expected_version))
    }

    fn query(
        &self,
        tenant: &str,
        rt: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt) = (tenant.to_owned(), rt.to_owned());
        let query = OwnedQuery::of(&query);
        self.pool
            .read(move |conn| query.with(|q| core.query_sync(conn, &tenant, &rt, q)))
    }

    /// `members` for a resource type whose core schema is the Group schema.
    fn out_of_line(&self, resource_type: &str) -> Option<&str> {
        self.core.ool(resource_type)
    }

    fn get_head(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool
            .read(move |conn| core.get_head_in(conn, &tenant, &rt, &id))
    }

    /// One transaction: the version check, `clear`, `removed` (by `value`,
    /// case-insensitively), `added` (skipping values present), and the head with the next
    /// version when anything changed; otherwise nothing is written.
    fn patch_elements(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<ElementPatch, StoreError>> + Send {
        self.patch_elements_checked(
            tenant,
            rt,
            id,
            expected_version,
            head,
            head_changed,
            change,
            unique,
            None,
        )
    }

    /// True: one transaction deletes and detaches ([`Store::delete_cascade`]), and member
    /// checks run in the transaction that writes the members.
    fn keeps_references(&self) -> bool {
        true
    }

    /// One transaction: the resource row and its side-table rows, then, for each referrer,
    /// its elements naming `id` (out-of-line members through the `members_value` index,
    /// then each group's head with the next version and `meta.lastModified`; an attribute
    /// kept in the document by rewriting the resource). A failure anywhere rolls all of it
    /// back.
    fn delete_cascade(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: Option<u64>,
        cascade: Cascade,
    ) -> impl Future<Output = Result<Cascaded, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool.write(move |tx| {
            let deleted = references::delete_row(tx, &tenant, &rt, &id, expected_version)?;
            let mut updated = 0;
            for referrer in &cascade.referrers {
                updated += core.detach(tx, &tenant, referrer, &id, &cascade.last_modified)?;
            }
            Ok(Cascaded::new(deleted, updated))
        })
    }

    fn references_to(
        &self,
        tenant: &str,
        referrer: &Referrer,
        targets: &[&str],
    ) -> impl Future<Output = Result<Option<Vec<Reference>>, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let tenant = tenant.to_owned();
        let referrer = referrer.clone();
        let targets: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
        self.pool
            .read(move |conn| core.references_in(conn, &tenant, &referrer, &targets))
    }

    /// The resource and the references to it in one job on one reader.
    fn get_with_references(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        referrer: &Referrer,
    ) -> impl Future<Output = Result<Option<WithReferences>, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        let referrer = referrer.clone();
        self.pool.read(move |conn| {
            let Some(found) = core.get_in(conn, &tenant, &rt, &id)? else {
                return Ok(None);
            };
            let references = core.references_in(conn, &tenant, &referrer, &[id])?;
            Ok(Some((found, references)))
        })
    }

    /// [`Store::create`] with the check in its transaction.
    fn create_checked(
        &self,
        tenant: &str,
        rt: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt) = (tenant.to_owned(), rt.to_owned());
        self.pool.write(move |tx| {
            references::check(tx, &tenant, check.as_ref())?;
            core.create_in(tx, &tenant, &rt, resource, &unique)
        })
    }

    /// [`Store::replace`] with the check in its transaction, after the version check.
    fn replace_checked(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool.write(move |tx| {
            core.replace_in(
                tx,
                &tenant,
                &rt,
                &id,
                expected_version,
                resource,
                &unique,
                check.as_ref(),
            )
        })
    }

    /// [`Store::patch_elements`] with the check in its transaction, after the version check.
    fn patch_elements_checked(
        &self,
        tenant: &str,
        rt: &str,
        id: &str,
        expected_version: u64,
        head: Value,
        head_changed: bool,
        change: ElementChange,
        unique: Vec<UniqueKey>,
        check: Option<ReferenceCheck>,
    ) -> impl Future<Output = Result<ElementPatch, StoreError>> + Send {
        let core = Arc::clone(&self.core);
        let (tenant, rt, id) = (tenant.to_owned(), rt.to_owned(), id.to_owned());
        self.pool.write(move |tx| {
            core.patch_elements_in(
                tx,
                &tenant,
                &rt,
                &id,
                expected_version,
                head,
                head_changed,
                change,
                unique,
                check.as_ref(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use scim_filter::{CompiledFilter, Filter};
    use serde_json::json;

    fn store() -> SqliteStore {
        SqliteStore::open_in_memory(Registry::standard()).expect("open")
    }

    /// In a batch on a file database the trigram index's changes wait for the end of the
    /// batch: those of a write that fails after writing are dropped with its savepoint,
    /// those of the others are applied.
    #[test]
    fn a_failed_write_leaves_no_trigrams() {
        let dir = std::env::temp_dir().join(format!("scim-sqlite-defer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let s = SqliteStore::open(dir.join("d.db"), Registry::standard()).expect("open");
        let core = Arc::clone(&s.core);
        let failed = scim_core::block_on(s.pool.write(move |tx| {
            core.create_in(tx, "t", "User", json!({"displayName": "ghost wkq"}), &[])?;
            Err::<(), _>(StoreError::Unavailable("fails after writing".into()))
        }));
        assert!(failed.is_err());
        scim_core::block_on(s.create("t", "User", json!({"displayName": "kept wkq"}), vec![]))
            .expect("create");
        let grams = |lit: &'static str| {
            scim_core::block_on(s.pool.read(move |c| {
                c.query_row(
                    "SELECT COUNT(*) FROM attr_trigram WHERE attr_trigram MATCH ?1",
                    params![lit],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(unavailable)
            }))
            .expect("count")
        };
        assert_eq!(
            (grams("\"gho\""), grams("\"kep\""), grams("\"wkq\"")),
            (0, 1, 1)
        );
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A cached statement is parsed and planned once: binding new values does not make
    /// SQLite prepare it again (it would, comparing them with the partial indexes' `WHERE`,
    /// without the query planner stability guarantee).
    #[test]
    fn cached_statements_are_not_prepared_again() {
        let s = store();
        let core = Arc::clone(&s.core);
        let reprepared = scim_core::block_on(s.pool.read(move |conn| {
            let registry = Registry::standard();
            let group = registry.resource_type("Group").expect("Group");
            let mut sql = String::new();
            for id in ["a", "b", "c"] {
                let filter = Filter::parse(&format!("members.value eq \"{id}\"")).expect("f");
                let compiled = CompiledFilter::compile(&filter, &group).expect("compile");
                let query = Query {
                    filter: Some(&filter),
                    compiled: Some(&compiled),
                    sort: None,
                    start_index: 1,
                    count: usize::MAX,
                    attributes: Some(&["displayName"]),
                };
                core.get_in(conn, "t", "User", id)?;
                core.query_sync(conn, "t", "Group", &query)?;
                sql = core.plan(conn, "t", "Group", &query)?.sql;
            }
            let get = conn
                .prepare_cached(
                    "SELECT version, resource, members_key FROM resources \
                     WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
                )
                .map_err(unavailable)?
                .get_status(rusqlite::StatementStatus::RePrepare);
            let list = conn
                .prepare_cached(&sql)
                .map_err(unavailable)?
                .get_status(rusqlite::StatementStatus::RePrepare);
            Ok((get, list))
        }))
        .expect("read");
        assert_eq!(reprepared, (0, 0));
    }

    /// `EXPLAIN QUERY PLAN` of the list query for `filter`, one line per step, and whether
    /// SQL applied the filter.
    fn explain(s: &SqliteStore, rt: &str, filter: &str) -> (String, bool) {
        let registry = Registry::standard();
        let filter = Filter::parse(filter).expect("filter");
        let compiled =
            CompiledFilter::compile(&filter, &registry.resource_type(rt).expect("rt")).expect("c");
        let query = Query {
            filter: Some(&filter),
            compiled: Some(&compiled),
            sort: None,
            start_index: 1,
            count: 10,
            attributes: None,
        };
        let owned = OwnedQuery::of(&query);
        let core = Arc::clone(&s.core);
        let rt = rt.to_owned();
        scim_core::block_on(s.pool.read(move |conn| {
            let plan = owned.with(|q| core.plan(conn, "t", &rt, q))?;
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {}", plan.sql))
                .map_err(unavailable)?;
            let lines = stmt
                .query_map(params_from_iter(plan.params.values.iter()), |r| {
                    r.get::<_, String>(3)
                })
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            Ok((lines.join("\n"), plan.filtered))
        }))
        .expect("explain")
    }

    /// The lookup an IdP makes (and the engine's own `id`/`members.value` lookups) read
    /// indexes, not every document: the plan searches the primary key by `id`.
    #[test]
    fn lookups_use_indexes() {
        let s = store();
        let users = (0..2_000)
            .map(|i| {
                let u =
                    json!({"userName": format!("u{i}"), "emails": [{"value": format!("u{i}@x")}]});
                (u, vec![])
            })
            .collect();
        s.create_batch("t", "User", users).unwrap();
        let by_id = "SEARCH r USING INDEX sqlite_autoindex_resources_1 (tenant=? AND resource_type=? AND id=?)";
        for (rt, f, index) in [
            ("User", r#"userName eq "U7""#, "attr=? AND key=?"),
            ("User", r#"userName sw "u1""#, "key>? AND key<?"),
            ("User", r#"externalId eq "a""#, "attr=? AND key=?"),
            ("User", r#"displayName eq "a""#, "attr=? AND key=?"),
            (
                "User",
                r#"emails.value eq "u7@x" and active eq true"#,
                "attr=? AND key=?",
            ),
            ("User", r#"id eq "a""#, "attr=? AND key=?"),
            (
                "User",
                r#"id eq "a" or id eq "b" or id eq "c""#,
                "attr=? AND key=?",
            ),
            (
                "User",
                r#"userName eq "a" or userName eq "b" or emails.value eq "c""#,
                "attr=? AND key=?",
            ),
            ("Group", r#"members.value eq "a""#, "members_value"),
            (
                "Group",
                r#"members.value eq "a" or members.value eq "b""#,
                "members_value",
            ),
            ("Group", r#"members[value eq "a"]"#, "members_value"),
            (
                "Group",
                r#"displayName eq "a" and members.value eq "b""#,
                "members_value",
            ),
        ] {
            let (plan, filtered) = explain(&s, rt, f);
            assert!(filtered, "{f}");
            assert!(plan.lines().next() == Some(by_id), "{f}:\n{plan}");
            assert!(plan.contains(index), "{f}:\n{plan}");
        }
        // Not indexed: every resource of the type is read.
        let (plan, filtered) = explain(&s, "User", r#"title eq "a""#);
        assert!(filtered);
        assert!(!plan.contains(by_id), "{plan}");
    }

    /// One resource with keys duplicated by case: the lookups still read the indexes for
    /// every other resource of the type, and the ambiguous one through its partial index.
    #[test]
    fn an_ambiguous_resource_keeps_the_indexes() {
        let s = store();
        let users = (0..2_000)
            .map(|i| (json!({"userName": format!("u{i}")}), vec![]))
            .collect();
        s.create_batch("t", "User", users).unwrap();
        s.create_batch(
            "t",
            "User",
            vec![(json!({"userName": "a", "USERNAME": "b"}), vec![])],
        )
        .unwrap();
        let by_id = "SEARCH r USING INDEX sqlite_autoindex_resources_1 (tenant=? AND resource_type=? AND id=?)";
        let apart = "SEARCH r USING INDEX resources_ambiguous (tenant=? AND resource_type=?)";
        for f in [r#"userName eq "U7""#, r#"userName sw "u1""#, r#"id eq "a""#] {
            let (plan, filtered) = explain(&s, "User", f);
            // The engine filters the ambiguous resource.
            assert!(!filtered, "{f}");
            assert!(plan.contains(by_id), "{f}:\n{plan}");
            assert!(plan.contains("attr=? AND key"), "{f}:\n{plan}");
            assert!(plan.contains(apart), "{f}:\n{plan}");
            assert!(!plan.contains("SCAN r"), "{f}:\n{plan}");
        }
    }

    /// `co` and `ew` on the indexed case-insensitive attributes read the trigram index (or,
    /// for a literal too short for trigrams, the attribute's keys in `attr_index`), never
    /// every document.
    #[test]
    fn substring_filters_use_the_trigram_index() {
        let s = store();
        let users = (0..2_000)
            .map(|i| {
                let u = json!({"userName": format!("user{i}@example.com"),
                    "displayName": format!("Name {i}"),
                    "emails": [{"value": format!("u{i}@x.org")}]});
                (u, vec![])
            })
            .collect();
        s.create_batch("t", "User", users).unwrap();
        let by_id = "SEARCH r USING INDEX sqlite_autoindex_resources_1 (tenant=? AND resource_type=? AND id=?)";
        let trigram = "VIRTUAL TABLE INDEX 0:M";
        for (f, index) in [
            (r#"displayName co "abc""#, trigram),
            (r#"displayName co "ME 12""#, trigram),
            (r#"userName ew "7@EXAMPLE.COM""#, trigram),
            (r#"userName co "r1" or displayName co "name 2""#, trigram),
            (r#"emails.value co "@x.""#, trigram),
            (r#"emails.value co "x" and title pr"#, "attr=?"),
            (r#"displayName ew "9""#, "attr=?"),
        ] {
            let (plan, filtered) = explain(&s, "User", f);
            assert!(filtered, "{f}");
            assert!(plan.lines().next() == Some(by_id), "{f}:\n{plan}");
            assert!(plan.contains(index), "{f}:\n{plan}");
            assert!(!plan.contains("SCAN r"), "{f}:\n{plan}");
            // From the matches to their rows, not from every row of the type to the matches.
            if index == trigram {
                assert!(
                    plan.contains("USING INTEGER PRIMARY KEY (rowid=?)"),
                    "{f}:\n{plan}"
                );
            }
            assert!(!plan.contains("attr_text_owner"), "{f}:\n{plan}");
        }
        // Not indexed by trigrams: a caseExact attribute, and an attribute not indexed.
        for f in [r#"externalId co "abc""#, r#"title co "abc""#] {
            let (plan, filtered) = explain(&s, "User", f);
            assert!(filtered, "{f}");
            assert!(!plan.contains(trigram), "{f}:\n{plan}");
        }
    }

    #[test]
    fn names_attribute_reads_paths_and_urns() {
        assert!(names_attribute("members", "members"));
        assert!(names_attribute("Members.display", "members"));
        assert!(names_attribute(
            "urn:ietf:params:scim:schemas:core:2.0:Group:members",
            "members"
        ));
        assert!(!names_attribute("displayName", "members"));
    }
}
