//! The read cache on SQLite ([`SqliteOptions::read_cache`](crate::SqliteOptions)): what
//! `GET /Users/{id}` answers from memory, and how the writer keeps it true.
//!
//! - **This store's writes.** Triggers on the writer's connection (`TEMP`: they exist for
//!   that connection only, and nothing is added to the file) name every row of `resources`
//!   and `members` that its statements insert, update or delete, cascades included, through
//!   the function `scim_cache_changed(tenant, id)`: a resource's id, a member's target. The
//!   writer invalidates what its batch named after the batch's `COMMIT` (or `ROLLBACK`) and
//!   before any write of it is answered: a client always reads its own writes.
//! - **Another process's writes** to the same file (a second `scim serve`, the command-line
//!   tools, `sqlite3`): `PRAGMA data_version` on the writer's connection moves when another
//!   connection committed (this store's readers never write, and the checkpointer changes
//!   no content). The writer reads it before each batch and, while idle, every
//!   [`CacheOptions::poll`]; when it moved, everything goes. Another process's write is
//!   thus seen within that time, like a PostgreSQL notification.
//! - An entry also goes when a group it names changes (see [`scim_store_cache`]) and when
//!   it is older than [`CacheOptions::ttl`].

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use scim_core::StoreError;
use scim_store_cache::ReadCache;

use crate::unavailable;

/// The read cache's limits ([`SqliteOptions::read_cache`](crate::SqliteOptions)).
///
/// ```
/// let o = scim_store_sqlite::CacheOptions::default();
/// assert_eq!((o.entries, o.bytes), (10_000, 64 << 20));
/// assert_eq!(o.ttl, std::time::Duration::from_secs(300));
/// assert_eq!(o.poll, std::time::Duration::from_millis(50));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheOptions {
    /// Most answers kept (default 10,000); 0 turns the cache off: every read goes to the
    /// database.
    pub entries: usize,
    /// About how many bytes of memory the answers may take in all (default 64 MiB); an
    /// answer over a sixteenth of it (a user with thousands of emails) is never kept.
    pub bytes: usize,
    /// The longest an answer is kept, however quiet its resource (default 5 minutes): a
    /// bound on anything missed.
    pub ttl: Duration,
    /// How often an idle writer checks whether another process wrote to the file (default
    /// 50 ms): the longest another process's write may go unseen by this store's cached
    /// answers. A busy writer checks before each batch.
    pub poll: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            entries: 10_000,
            bytes: 64 << 20,
            ttl: Duration::from_secs(300),
            poll: Duration::from_millis(50),
        }
    }
}

impl CacheOptions {
    /// The cache off: every read goes to the database.
    ///
    /// ```
    /// assert_eq!(scim_store_sqlite::CacheOptions::off().entries, 0);
    /// ```
    pub fn off() -> Self {
        CacheOptions {
            entries: 0,
            ..CacheOptions::default()
        }
    }

    /// The cache these options ask for, if any.
    pub(crate) fn build(&self) -> Option<Arc<ReadCache>> {
        let capacity = NonZeroUsize::new(self.entries)?;
        Some(Arc::new(ReadCache::new(capacity, self.bytes, self.ttl)))
    }
}

/// Past this many keys named by one batch, the batch clears the whole cache instead (a
/// group of 100,000 members created at once).
const MANY: usize = 10_000;

/// What the triggers named since the last batch ended.
#[derive(Default)]
struct Named {
    keys: HashSet<(String, String)>,
    /// More than [`MANY`].
    everything: bool,
}

/// The triggers; `scim_cache_changed` is registered on the same connection.
const TRIGGERS: &str = "
CREATE TEMP TRIGGER IF NOT EXISTS scim_cache_resource_insert AFTER INSERT ON main.resources
    BEGIN SELECT scim_cache_changed(NEW.tenant, NEW.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS scim_cache_resource_update AFTER UPDATE ON main.resources
    BEGIN SELECT scim_cache_changed(OLD.tenant, OLD.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS scim_cache_resource_delete AFTER DELETE ON main.resources
    BEGIN SELECT scim_cache_changed(OLD.tenant, OLD.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS scim_cache_member_insert AFTER INSERT ON main.members
    BEGIN SELECT scim_cache_changed(NEW.tenant, NEW.value_key); END;
CREATE TEMP TRIGGER IF NOT EXISTS scim_cache_member_update AFTER UPDATE ON main.members
    BEGIN SELECT scim_cache_changed(OLD.tenant, OLD.value_key),
                 scim_cache_changed(NEW.tenant, NEW.value_key); END;
CREATE TEMP TRIGGER IF NOT EXISTS scim_cache_member_delete AFTER DELETE ON main.members
    BEGIN SELECT scim_cache_changed(OLD.tenant, OLD.value_key); END;
";

/// The writer's side of the cache: what its batches wrote, and whether another process
/// wrote.
pub(crate) struct Invalidation {
    cache: Arc<ReadCache>,
    named: Arc<Mutex<Named>>,
    /// `PRAGMA data_version` as last read.
    data_version: i64,
    poll: Duration,
    polled: Instant,
}

fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(unavailable)
}

impl Invalidation {
    /// Installs the triggers and their function on the writer's `conn`, and turns `cache`
    /// on.
    pub(crate) fn install(
        conn: &Connection,
        cache: Arc<ReadCache>,
        poll: Duration,
    ) -> Result<Self, StoreError> {
        let named = Arc::new(Mutex::new(Named::default()));
        let sink = Arc::clone(&named);
        conn.create_scalar_function(
            "scim_cache_changed",
            2,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DIRECTONLY,
            move |ctx| {
                let tenant = ctx.get_raw(0).as_str_or_null().ok().flatten();
                let id = ctx.get_raw(1).as_str_or_null().ok().flatten();
                if let (Some(tenant), Some(id)) = (tenant, id) {
                    let mut named = sink.lock().unwrap_or_else(PoisonError::into_inner);
                    if named.keys.len() >= MANY {
                        named.everything = true;
                    } else if !named.everything {
                        named.keys.insert((tenant.to_owned(), id.to_owned()));
                    }
                }
                Ok(None::<i64>)
            },
        )
        .map_err(unavailable)?;
        conn.execute_batch(TRIGGERS).map_err(unavailable)?;
        let data_version = data_version(conn)?;
        cache.go_live();
        Ok(Invalidation {
            cache,
            named,
            data_version,
            // Never a busy loop: at least a millisecond between two looks.
            poll: poll.max(Duration::from_millis(1)),
            polled: Instant::now(),
        })
    }

    /// How long an idle writer may sleep before [`Invalidation::poll`] is due.
    pub(crate) fn poll_every(&self) -> Duration {
        self.poll
    }

    /// Whether another process committed since the last look; if so, everything goes. If
    /// the look fails, everything goes too (and the cache stays on: the next look decides).
    pub(crate) fn poll(&mut self, conn: &Connection) {
        self.polled = Instant::now();
        match data_version(conn) {
            Ok(v) if v == self.data_version => {}
            Ok(v) => {
                self.data_version = v;
                self.cache.clear();
            }
            Err(_) => self.cache.clear(),
        }
    }

    /// [`Invalidation::poll`], if it is due.
    pub(crate) fn poll_if_due(&mut self, conn: &Connection) {
        if self.polled.elapsed() >= self.poll {
            self.poll(conn);
        }
    }

    /// The batch's transaction ended (committed or rolled back): what it named goes, before
    /// any of its writes is answered.
    pub(crate) fn after_batch(&self) {
        let named = std::mem::take(&mut *self.named.lock().unwrap_or_else(PoisonError::into_inner));
        if named.everything {
            self.cache.clear();
            return;
        }
        for (tenant, id) in &named.keys {
            self.cache.invalidate(tenant, [id.as_str()]);
        }
    }
}

impl crate::SqliteStore {
    /// The read cache, for a host's metrics (`None` when it is off).
    ///
    /// ```
    /// use scim_store_sqlite::{CacheOptions, SqliteOptions, SqliteStore};
    /// let schema = || scim_core::StoreSchema::of(&scim_schema::Registry::standard());
    /// let store = SqliteStore::open_in_memory(schema())?;
    /// let cache = store.read_cache().expect("on by default");
    /// assert!(cache.is_live());
    /// assert_eq!(cache.stats().hits, 0);
    /// let off = SqliteOptions::default().read_cache(CacheOptions::off());
    /// assert!(SqliteStore::open_in_memory_with(schema(), off)?.read_cache().is_none());
    /// # Ok::<(), scim_core::StoreError>(())
    /// ```
    pub fn read_cache(&self) -> Option<scim_store_cache::ReadCacheHandle> {
        self.core
            .cache
            .clone()
            .map(scim_store_cache::ReadCacheHandle::new)
    }
}
