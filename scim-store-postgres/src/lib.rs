//! A PostgreSQL [`Store`] for scim-core: several stateless `scim serve` replicas (or any
//! other host) share one database, and the database keeps them consistent — versioned
//! writes, unique keys, and cascades that hold across processes.
//!
//! ```no_run
//! use scim_core::{block_on, Store};
//! use scim_store_postgres::{PostgresOptions, PostgresStore};
//!
//! let registry = scim_schema::Registry::standard();
//! let store = PostgresStore::connect(
//!     PostgresOptions::new("postgres://scim@db.internal/directory").schema("tenant_a"),
//!     scim_core::StoreSchema::of(&registry),
//! )?;
//! let created = block_on(store.create(
//!     "default",
//!     "User",
//!     serde_json::json!({"userName": "bjensen"}),
//!     vec![scim_core::UniqueKey::normalised("userName", "bjensen", false)],
//! ))?;
//! assert_eq!(created.version, 1);
//! # Ok::<(), scim_core::StoreError>(())
//! ```
//!
//! # Any executor
//!
//! The store owns a small tokio runtime ([`PostgresOptions::worker_threads`], 2 by
//! default) that drives tokio-postgres and the connection pool (deadpool-postgres,
//! [`PostgresOptions::pool_size`] connections). Each [`Store`] call is a task on that
//! runtime; the caller awaits its handle, which any executor can poll (the engine's
//! `block_on`, another tokio runtime, smol): the futures are `Send` and need no runtime
//! of the caller's. A call whose future is dropped still runs to its end (a write commits
//! or rolls back whole).
//!
//! # Tables
//!
//! Everything lives in one PostgreSQL schema ([`PostgresOptions::schema`], created on
//! connect), so one database can hold several deployments. Text columns compare by code
//! point (`COLLATE "C"`), as SCIM's caseExact comparisons and the SQLite store do.
//!
//! - `resources (tenant, resource_type, id, version, resource json, search jsonb, …)`: one
//!   row per resource. `resource` is the document exactly as given (key order and spelling,
//!   `\u0000` included), a group without its members; `search` the same with object keys
//!   lower-cased and secrets left out, for filters; `folded` the search document with its
//!   strings lower-cased by Rust (`str::to_lowercase`, as the evaluator folds), for
//!   case-insensitive comparisons; `created_key` and `last_modified_key` the `meta` times
//!   as instant keys; `ambiguous` marks a resource the engine must filter itself (two keys
//!   differing only in case, or a `\u0000`, which `jsonb` cannot hold), `odd_times` one
//!   whose `meta` times are not one dateTime each; `members_key` is the key the
//!   out-of-line members go back under.
//! - `members (tenant, resource_type, owner_id, seq, value_key, element json, search jsonb,
//!   folded jsonb)`:
//!   the members of groups ([`Store::out_of_line`]), one row each in order, indexed by
//!   `value_key` (the member's `value`, lower-cased) for "is X a member" and "which groups
//!   hold X". A membership PATCH of a group of 100,000 writes one row and the group's head.
//! - `attr_index (tenant, resource_type, attr, key, id)`: the lower-cased values of
//!   `userName`, `externalId`, `displayName` and `emails.value`, as in the SQLite store
//!   (`scim_store_layout`), with a trigram index on `key` per attribute when the `pg_trgm`
//!   extension can be had (`co`, `ew` read it through `LIKE`; no pending list, so a search
//!   reads only the index).
//! - `unique_keys (tenant, resource_type, attribute, value, id)`: primary key on the first
//!   four, so the database refuses a taken value whichever replica writes it
//!   ([`StoreError::Conflict`], 409 `uniqueness`).
//! - `layout (version, applied_at)`: the layout versions applied ([`LAYOUT_VERSION`]);
//!   connecting creates or migrates the tables under an advisory lock, so replicas
//!   starting together migrate once.
//!
//! # Across processes
//!
//! Writes run in READ COMMITTED transactions with explicit row locks:
//!
//! - a write changes a resource only `WHERE version = expected` while holding its row
//!   lock, so of two writers with the same ETag exactly one wins and the other gets
//!   [`StoreError::VersionMismatch`] (412, or the engine's PATCH retry): no lost update;
//! - a member add locks each member it names `FOR KEY SHARE` in its transaction (a
//!   member already deleted is refused with [`StoreError::MissingReference`]), and
//!   [`Store::delete_cascade`] deletes the resource (waiting for those locks) and then
//!   removes its memberships in the same transaction, each statement seeing what committed
//!   before it: no group keeps a member that no longer exists;
//! - locks are taken members first, then the group, in every write, and a deadlock or
//!   serialization failure PostgreSQL reports anyway (40P01, 40001) is retried
//!   [`PostgresOptions::serialization_retries`] times.
//!
//! # Queries
//!
//! Filters are translated to SQL with the evaluator's semantics through `scim_store_sql`
//! (the walk and the exact/superset algebra shared with the SQLite store; this crate is the
//! PostgreSQL dialect): string `eq`/`sw`/`co`/`ew` on `userName`, `externalId`,
//! `displayName`, `emails.value`, `id` and `members.value` read the index tables (the
//! trigram index for `co`/`ew`); other comparisons read the `jsonb` documents (the
//! `folded` ones when case-insensitive), any-match over multi-valued attributes, value
//! paths element by element, extension attributes under their URN; `meta.created` and
//! `meta.lastModified` compare as instants through their keys. What cannot be said
//! exactly (other dateTime comparisons, custom types, integer literals beyond 2^53,
//! literals holding a NUL) is left to the engine (`filtered: false`, a superset when part
//! of an `and` is kept). A sort by a single-valued boolean or string attribute (a
//! case-insensitive one by its folded value first) runs in SQL; with both the
//! filter and the sort in SQL, so is the page, and `totalResults` is a `count(*)`.
//! Resources marked `ambiguous` (or `odd_times`, for filters on the times, or written
//! before layout 2) are read apart, unfiltered, for the engine. What a query asks through
//! [`Query::attributes`](scim_core::Query::attributes) decides whether members are read.
//!
//! # Errors
//!
//! A statement over [`PostgresOptions::statement_timeout`] is cancelled and reported as
//! [`StoreError::TooExpensive`] (400 `tooMany`); a database that cannot be reached, as
//! [`StoreError::Unavailable`] naming where (never the password).
//!
//! # Secrets
//!
//! The engine hands the store only hashes of `returned: never` values (passwords); the
//! `search` column and the index tables leave them out.

mod listen;
mod options;
mod query;
mod read;
mod references;
mod statistics;
mod store_impl;
mod tls;
mod translate;
mod write;

mod migrations;

pub use migrations::LAYOUT_VERSION;
pub use options::{is_postgres_url, redacted_url, PostgresOptions, TlsMode};
pub use scim_store_cache::{CacheStats, ReadCacheHandle};

use std::future::Future;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use scim_core::secret::{default_entropy, Entropy};
#[cfg(doc)]
use scim_core::{Store, UniqueKey};
use scim_core::{StoreError, StoreSchema};
use tokio_postgres::error::SqlState;

/// A [`Store`] in a PostgreSQL database (see the crate docs for the tables and the
/// guarantees). Cheap to share behind an `Arc`; dropping it closes its connections.
pub struct PostgresStore {
    core: Arc<Core>,
    handle: tokio::runtime::Handle,
    /// Taken (and shut down without blocking) on drop, which may happen inside another
    /// runtime.
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.core.schema)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.core.pool.close();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What every call needs, shared with the store's tasks.
pub(crate) struct Core {
    /// What the store knows of the resource types (what goes out of line, what is hidden).
    pub(crate) types: StoreSchema,
    pub(crate) pool: Pool,
    pub(crate) entropy: Arc<dyn Entropy>,
    /// [`PostgresOptions::time_ordered_ids`].
    pub(crate) time_ordered_ids: bool,
    /// [`PostgresOptions::serialization_retries`].
    pub(crate) retries: u32,
    pub(crate) schema: String,
    /// The read cache ([`PostgresOptions::read_cache`]), if on.
    pub(crate) cache: Option<Arc<scim_store_cache::ReadCache>>,
    /// [`PostgresOptions::analyze_after_writes`], unless 0.
    pub(crate) statistics: Option<statistics::Statistics>,
}

impl Core {
    /// The out-of-line attribute of `rt` (`members` of groups).
    pub(crate) fn ool(&self, rt: &str) -> Option<&str> {
        scim_store_layout::out_of_line_of(&self.types, rt)
    }

    /// A new id nobody can guess from another: a version-7 UUID (time first, see
    /// [`PostgresOptions::time_ordered_ids`]) or a random version-4 one.
    pub(crate) fn next_id(&self) -> Result<String, StoreError> {
        scim_store_layout::new_id(&*self.entropy, self.time_ordered_ids)
    }

    /// A connection from the pool.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, Fail> {
        self.pool.get().await.map_err(Fail::from)
    }
}

/// Why one try of a call failed: a store error to report, or a database error that may be
/// worth another try.
#[derive(Debug)]
pub(crate) enum Fail {
    Store(StoreError),
    Db(tokio_postgres::Error),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<PoolError> for Fail {
    fn from(e: PoolError) -> Self {
        Fail::Store(StoreError::Unavailable(pool_error(&e)))
    }
}

impl Fail {
    /// A deadlock or a serialization failure: the transaction was rolled back and may be
    /// tried again.
    pub(crate) fn retryable(&self) -> bool {
        matches!(self, Fail::Db(e) if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED))
    }

    /// The store error: a cancelled statement (the statement timeout) is
    /// [`StoreError::TooExpensive`]; any other database error is unavailable.
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Fail::Store(e) => e,
            Fail::Db(e) if e.code() == Some(&SqlState::QUERY_CANCELED) => {
                StoreError::TooExpensive("the statement timeout".into())
            }
            Fail::Db(e) => StoreError::Unavailable(db_error(&e)),
        }
    }
}

/// A database error in one line: SQLSTATE and message for a server error, the cause for
/// a connection error.
pub(crate) fn db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let part = s.to_string();
                if !text.contains(&part) {
                    text = format!("{text}: {part}");
                }
                source = s.source();
            }
            text
        }
    }
}

fn pool_error(e: &PoolError) -> String {
    match e {
        PoolError::Backend(e) => db_error(e),
        PoolError::Timeout(_) => "timed out waiting for a connection".into(),
        other => other.to_string(),
    }
}

/// Runs `$attempt` (an expression giving a future of `Result<_, Fail>`, evaluated anew for
/// each try) until it succeeds, fails for good, or has been retried `$core.retries` times.
macro_rules! retrying {
    ($core:expr, $attempt:expr) => {{
        let mut tries = 0u32;
        loop {
            match $attempt.await {
                Err(f) if f.retryable() && tries < $core.retries => tries += 1,
                done => break done.map_err($crate::Fail::into_store),
            }
        }
    }};
}
pub(crate) use retrying;

impl PostgresStore {
    /// Connects to the database of `options`, creates its schema and tables or migrates
    /// them to [`LAYOUT_VERSION`], and returns the store. Blocks the calling thread until
    /// then (it may be called inside another runtime); a database that cannot be reached
    /// is an error that says where and why in one line, without the password.
    ///
    /// `types` is what the store needs to know of the resource types ([`StoreSchema`]:
    /// which keep members out of line, which attributes are never searchable), made from
    /// the engine's registry with [`StoreSchema::of`]; filters and sorts come resolved with
    /// each query.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use scim_store_postgres::{PostgresOptions, PostgresStore, TlsMode};
    /// let store = PostgresStore::connect(
    ///     PostgresOptions::new("postgres://scim@db.internal/directory")
    ///         .pool_size(16)
    ///         .statement_timeout(Duration::from_secs(1))
    ///         .tls(TlsMode::VerifyFull),
    ///     scim_core::StoreSchema::of(&scim_schema::Registry::standard()),
    /// )?;
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn connect(options: PostgresOptions, types: StoreSchema) -> Result<Self, StoreError> {
        let unavailable = StoreError::Unavailable;
        options::check_schema(&options.schema).map_err(unavailable)?;
        let shown = redacted_url(&options.url);
        let mut config: tokio_postgres::Config = options
            .url
            .parse()
            .map_err(|e| unavailable(format!("invalid PostgreSQL URL {shown}: {e}")))?;
        let (tls, ssl_mode) = tls::connector(options.tls).map_err(unavailable)?;
        config.ssl_mode(ssl_mode);
        config.connect_timeout(options.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("scim");
        }
        // Every connection resolves the store's tables in its schema (extensions such as
        // pg_trgm usually live in `public`) and has the statement timeout.
        let settings = format!(
            "-c search_path={},public -c statement_timeout={}",
            options.schema,
            options.statement_timeout.as_millis().max(1)
        );
        let settings = match config.get_options() {
            Some(given) => format!("{given} {settings}"),
            None => settings,
        };
        config.options(&settings);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.worker_threads.max(1))
            .thread_name("scim-postgres")
            .enable_all()
            .build()
            .map_err(|e| unavailable(format!("cannot start the store's runtime: {e}")))?;
        let listener = (config.clone(), tls.clone());
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| unavailable(format!("PostgreSQL pool: {e}")))?;
        let store = PostgresStore {
            core: Arc::new(Core {
                types,
                pool,
                entropy: default_entropy(),
                time_ordered_ids: options.time_ordered_ids,
                retries: options.serialization_retries,
                statistics: statistics::Statistics::new(options.analyze_after_writes),
                schema: options.schema.clone(),
                cache: std::num::NonZeroUsize::new(options.read_cache).map(|n| {
                    Arc::new(scim_store_cache::ReadCache::new(
                        n,
                        options.read_cache_bytes,
                        options.read_cache_ttl,
                    ))
                }),
            }),
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        };
        let core = Arc::clone(&store.core);
        scim_core::block_on(store.spawn(async move {
            let mut client = core.client().await.map_err(Fail::into_store)?;
            migrations::migrate(&mut client, &core.schema)
                .await
                .map_err(Fail::into_store)?;
            if core.cache.is_some() {
                listen::install_triggers(&mut client, &core.schema, migrations::MIGRATION_LOCK)
                    .await
                    .map_err(Fail::into_store)?;
            }
            Ok(())
        }))
        .map_err(|e| {
            let why = match e {
                StoreError::Unavailable(why) => why,
                other => other.to_string(),
            };
            unavailable(format!("PostgreSQL at {shown}: {why}"))
        })?;
        if let Some(cache) = &store.core.cache {
            let (config, tls) = listener;
            store.handle.spawn(listen::listen(
                Arc::clone(cache),
                config,
                tls,
                store.core.schema.clone(),
            ));
        }
        Ok(store)
    }

    /// The PostgreSQL schema the store's tables are in.
    ///
    /// ```no_run
    /// # let store = scim_store_postgres::PostgresStore::connect(
    /// #     scim_store_postgres::PostgresOptions::new("postgres://localhost/scim"),
    /// #     scim_core::StoreSchema::of(&scim_schema::Registry::standard()))?;
    /// assert_eq!(store.schema(), "scim");
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn schema(&self) -> &str {
        &self.core.schema
    }

    /// Whether the read cache ([`PostgresOptions::read_cache`]) is answering: it is on and
    /// its connection is listening for changes (the cache is off while it is not, e.g.
    /// for a moment after connecting or after the database restarted).
    ///
    /// ```no_run
    /// # let store = scim_store_postgres::PostgresStore::connect(
    /// #     scim_store_postgres::PostgresOptions::new("postgres://localhost/scim").read_cache(0),
    /// #     scim_core::StoreSchema::of(&scim_schema::Registry::standard()))?;
    /// assert!(!store.caching()); // read_cache(0)
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn caching(&self) -> bool {
        self.core.cache.as_ref().is_some_and(|c| c.is_live())
    }

    /// A handle on the read cache ([`PostgresOptions::read_cache`]; `None` when it is off),
    /// for a host's metrics: it stays valid, and current, for as long as the store lives.
    ///
    /// ```no_run
    /// # let store = scim_store_postgres::PostgresStore::connect(
    /// #     scim_store_postgres::PostgresOptions::new("postgres://localhost/scim"),
    /// #     scim_core::StoreSchema::of(&scim_schema::Registry::standard()))?;
    /// if let Some(cache) = store.read_cache() {
    ///     let stats = cache.stats();
    ///     println!("{} of {} reads from memory", stats.hits, stats.hits + stats.misses);
    /// }
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn read_cache(&self) -> Option<ReadCacheHandle> {
        self.core.cache.clone().map(ReadCacheHandle::new)
    }

    /// Runs `job` on the store's runtime; the returned future (any executor may poll it)
    /// gives its result.
    pub(crate) fn spawn<T: Send + 'static>(
        &self,
        job: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + 'static {
        let task = self.handle.spawn(job);
        async move {
            task.await.unwrap_or_else(|e| {
                Err(StoreError::Unavailable(format!(
                    "the store's task did not finish: {e}"
                )))
            })
        }
    }
}

/// `s` as a PostgreSQL `text` value: `text` cannot hold U+0000, which becomes U+FFFD. Only
/// strings nobody sends for real are changed (ids, names and keys with a NUL in them), and
/// a resource holding one is marked ambiguous, so filters never trust its keys.
pub(crate) fn text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// A version as PostgreSQL stores it (`bigint`); one it cannot hold matches no row.
pub(crate) fn version_param(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(-1)
}

/// A stored version as the engine sees it.
pub(crate) fn version_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
