//! Opening a store: the file (owner-only), WAL, the connections and their settings, the
//! migrations, the pool; the options; loading in batches.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use scim_core::secret::{default_entropy, Argon2Params, Argon2id, PasswordScheme};
#[cfg(doc)]
use scim_core::Store;
use scim_core::{StoreError, StoreSchema, StoredResource, UniqueKey};
use serde_json::Value;

use crate::cache::{CacheOptions, Invalidation};
use crate::pool::{BatchHooks, FileDb, Pool, PoolOptions};
use crate::{migrations, trigrams, unavailable, Core, SqliteStore};

impl SqliteStore {
    /// Opens (or creates) the database at `path`, in WAL mode: a write is on disk (the WAL
    /// synced, as `synchronous=FULL` would) when the call returns. A file written by an earlier version of this
    /// crate is migrated once (see the crate docs).
    ///
    /// `schema` is what the store needs to know of the resource types beyond what each call
    /// carries ([`StoreSchema`]: which attribute goes out of line, which values are never
    /// searchable; a migration's rewrite needs them too): made from the engine's registry
    /// with [`StoreSchema::of`], and the same every time the file is opened.
    ///
    /// ```no_run
    /// let store = scim_store_sqlite::SqliteStore::open(
    ///     "scim.db",
    ///     scim_core::StoreSchema::of(&scim_schema::Registry::standard()),
    /// )?;
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn open(path: impl AsRef<Path>, schema: StoreSchema) -> Result<Self, StoreError> {
        Self::open_with(path, schema, SqliteOptions::default())
    }

    /// [`SqliteStore::open`], with the scheme that hashes the passwords an older file kept in
    /// clear (layout versions before 2) — the same scheme the engine is configured with
    /// ([`scim_core::Config::passwords`]).
    pub fn open_with_passwords(
        path: impl AsRef<Path>,
        schema: StoreSchema,
        passwords: Arc<dyn PasswordScheme>,
    ) -> Result<Self, StoreError> {
        Self::open_with(path, schema, SqliteOptions::default().passwords(passwords))
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
    ///     scim_core::StoreSchema::of(&scim_schema::Registry::standard()),
    ///     SqliteOptions::default().pool(pool),
    /// )?;
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn open_with(
        path: impl AsRef<Path>,
        schema: StoreSchema,
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
        migrations::migrate(
            &mut conn,
            &schema,
            &*options.passwords,
            options.max_indexed_values,
        )?;
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
        Self::assemble(conn, readers, Some(file), schema, &options)
    }

    /// A private database in memory (for tests): one connection, which reads and writes.
    ///
    /// ```
    /// let store = scim_store_sqlite::SqliteStore::open_in_memory(
    ///     scim_core::StoreSchema::of(&scim_schema::Registry::standard()),
    /// )?;
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn open_in_memory(schema: StoreSchema) -> Result<Self, StoreError> {
        Self::open_in_memory_with(schema, SqliteOptions::default())
    }

    /// [`SqliteStore::open_in_memory`] with `options` (their pool's readers are ignored: the
    /// one connection reads and writes).
    ///
    /// ```
    /// use scim_store_sqlite::{SqliteOptions, SqliteStore};
    /// let store = SqliteStore::open_in_memory_with(
    ///     scim_core::StoreSchema::of(&scim_schema::Registry::standard()),
    ///     SqliteOptions::default().max_indexed_values(3),
    /// )?;
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn open_in_memory_with(
        schema: StoreSchema,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        let mut conn = Connection::open_in_memory().map_err(unavailable)?;
        configure(&conn)?;
        migrations::migrate(
            &mut conn,
            &schema,
            &*options.passwords,
            options.max_indexed_values,
        )?;
        Self::assemble(conn, Vec::new(), None, schema, &options)
    }

    fn assemble(
        writer: Connection,
        readers: Vec<Connection>,
        file: Option<FileDb>,
        schema: StoreSchema,
        options: &SqliteOptions,
    ) -> Result<Self, StoreError> {
        let pool = options.pool;
        // With readers, no query runs on the writer: the trigram index's changes can wait
        // for the end of each batch (see `trigrams::deferral`).
        let hooks = (!readers.is_empty()).then_some(BatchHooks {
            begin: trigrams::deferral::begin,
            mark: trigrams::deferral::mark,
            roll_back: trigrams::deferral::roll_back,
            finish: trigrams::deferral::finish,
            abandon: trigrams::deferral::abandon,
        });
        let cache = options.read_cache.build();
        let invalidation = match &cache {
            Some(cache) => Some(Invalidation::install(
                &writer,
                Arc::clone(cache),
                options.read_cache.poll,
            )?),
            None => None,
        };
        Ok(SqliteStore {
            core: Arc::new(Core {
                schema,
                entropy: default_entropy(),
                time_ordered_ids: options.time_ordered_ids,
                max_scan: pool.max_scan,
                max_indexed_values: options.max_indexed_values,
                counts: std::sync::Mutex::new(HashMap::new()),
                cache,
            }),
            pool: Pool::start(writer, readers, file, hooks, invalidation, pool)?,
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
    ///     scim_core::StoreSchema::of(&scim_schema::Registry::standard()),
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
    // The keys `attr_index` would hold for one attribute of a search document (a JSON
    // array of strings): what the lookups of a label read of the resources `capped` for it
    // (`crate::write_keys`), with the layout's own code, so the answers are the index's.
    conn.create_scalar_function(
        "scim_index_keys",
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text = |i: usize| -> rusqlite::Result<Option<String>> {
                Ok(match ctx.get_raw(i) {
                    rusqlite::types::ValueRef::Text(t) => {
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                    _ => None,
                })
            };
            let (Some(search), Some(name)) = (text(0)?, text(1)?) else {
                return Ok(None);
            };
            let sub = text(2)?;
            let keys = crate::keys_of::keys_of(&search, &name, sub.as_deref())
                .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
            serde_json::to_string(&keys)
                .map(Some)
                .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))
        },
    )
    .map_err(unavailable)?;
    // Whether a capped row's Bloom filter may hold one of the keys (a JSON list): 1 for a
    // row without one.
    conn.create_scalar_function(
        "scim_bloom_any",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let rusqlite::types::ValueRef::Blob(bloom) = ctx.get_raw(0) else {
                return Ok(true);
            };
            let keys: Vec<String> = match ctx.get_raw(1) {
                rusqlite::types::ValueRef::Text(t) => serde_json::from_slice(t)
                    .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?,
                _ => return Ok(true),
            };
            Ok(crate::keys_of::may_hold_any(
                bloom,
                keys.iter().map(String::as_str),
            ))
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
                    .map(crate::layout::instant_key),
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
    /// Most values of one indexed attribute (`emails.value`, say) that one resource has
    /// indexed value by value. A resource with more (a user with 25,000 emails) is written
    /// without index rows for that attribute, in time linear in its size, and is recorded
    /// instead: a lookup of that attribute also reads the documents of such resources (in
    /// SQL, still exact, slower than the index in proportion to their size). Default 100.
    pub max_indexed_values: usize,
    /// Whether new ids are version-7 UUIDs (the creation time, then 74 random bits; see
    /// [`scim_core::secret::time_ordered_uuid`]) rather than version-4 (all random).
    /// Default `true`: ids made in a row land at the end of every index keyed by id instead
    /// of on a random page each, which makes a create write several times fewer pages
    /// (durable POSTs under load: about 1.5× as many per second). Either kind is
    /// unguessable; a version-7 id also tells the millisecond of its creation, as
    /// `meta.created` does. Ids already stored keep their kind.
    pub time_ordered_ids: bool,
    /// The read cache: `GET /Users/{id}` ([`Store::get_with_references`]) answered from
    /// memory, on the caller's thread, while nothing it depends on changed (default: on,
    /// 10,000 answers, 64 MiB; [`CacheOptions::off`] turns it off). This store's own
    /// writes invalidate what they touch before they are answered, so a client always
    /// reads its writes; another process's writes to the same file are noticed within
    /// [`CacheOptions::poll`] (see [`CacheOptions`]).
    pub read_cache: CacheOptions,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            passwords: default_passwords(),
            pool: PoolOptions::default(),
            max_indexed_values: 100,
            time_ordered_ids: true,
            read_cache: CacheOptions::default(),
        }
    }
}

impl std::fmt::Debug for SqliteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteOptions")
            .field("pool", &self.pool)
            .field("max_indexed_values", &self.max_indexed_values)
            .field("time_ordered_ids", &self.time_ordered_ids)
            .field("read_cache", &self.read_cache)
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

    /// Sets [`SqliteOptions::max_indexed_values`].
    ///
    /// ```
    /// let o = scim_store_sqlite::SqliteOptions::default().max_indexed_values(10);
    /// assert_eq!(o.max_indexed_values, 10);
    /// ```
    pub fn max_indexed_values(mut self, cap: usize) -> Self {
        self.max_indexed_values = cap;
        self
    }

    /// Sets [`SqliteOptions::time_ordered_ids`].
    ///
    /// ```
    /// let o = scim_store_sqlite::SqliteOptions::default().time_ordered_ids(false);
    /// assert!(!o.time_ordered_ids);
    /// ```
    pub fn time_ordered_ids(mut self, on: bool) -> Self {
        self.time_ordered_ids = on;
        self
    }

    /// Sets [`SqliteOptions::read_cache`].
    ///
    /// ```
    /// use scim_store_sqlite::{CacheOptions, SqliteOptions};
    /// let o = SqliteOptions::default().read_cache(CacheOptions::off());
    /// assert_eq!(o.read_cache.entries, 0);
    /// ```
    pub fn read_cache(mut self, cache: CacheOptions) -> Self {
        self.read_cache = cache;
        self
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
