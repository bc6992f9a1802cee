//! The read cache SCIM stores share: answers to
//! [`Store::get_with_references`](scim_core::Store::get_with_references) (`GET /Users/{id}`)
//! kept in memory while nothing they depend on has changed, so that a repeated read is
//! answered on the caller's thread without a trip to the database.
//!
//! The store tells the cache what changed; the cache never looks at the database itself:
//!
//! - [`ReadCache::invalidate`]: these ids (of a tenant) were written — by the store itself,
//!   after its transaction ended and before its caller hears of the write (read-your-writes),
//!   or by someone else, as the store heard of it (PostgreSQL: a notification from triggers;
//!   SQLite: triggers on the writer's connection);
//! - [`ReadCache::clear`]: something changed that the store cannot name (another process
//!   wrote to a SQLite file; a PostgreSQL notification for too many rows);
//! - [`ReadCache::go_live`] / [`ReadCache::go_dead`]: whether the store hears of every change
//!   (a PostgreSQL store's listening connection is up). While dead, nothing is kept or
//!   answered.
//!
//! An entry is also dropped when one of its references changes (a user's entry lists the
//! groups that hold it; a change to one of those groups evicts it) and when it is older
//! than the cache's time to live, as a bound on anything missed.
//!
//! A read that missed may fill the entry only if neither its key nor any group its answer
//! names was invalidated between its start and its end (the [`Ticket`]'s epoch against the
//! epoch of each key's slot), so an answer read before a change can never be cached after
//! the change was heard of.
//!
//! ```
//! use std::{num::NonZeroUsize, time::Duration};
//! use scim_core::{Referrer, StoredResource};
//! use scim_store_cache::ReadCache;
//! use serde_json::json;
//!
//! let cache = ReadCache::new(NonZeroUsize::new(100).unwrap(), 1 << 20, Duration::from_secs(60));
//! cache.go_live();
//! let groups = Referrer::new("Group", "members");
//! // A read that missed: a ticket first, then the database, then the fill.
//! assert!(cache.get("t", "User", "u1", &groups).is_none());
//! let ticket = cache.ticket("t", "u1").unwrap();
//! let answer = (
//!     StoredResource::new("u1", 1, json!({"userName": "bjensen"})),
//!     Some(vec![]),
//! );
//! cache.fill(ticket, ("t", "User", "u1"), &groups, &answer);
//! assert_eq!(cache.get("t", "User", "u1", &groups), Some(answer));
//! // Written (the id is matched without regard to ASCII case): gone.
//! cache.invalidate("t", ["U1"]);
//! assert!(cache.get("t", "User", "u1", &groups).is_none());
//! ```

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;
use scim_core::{Referrer, StoredResource, WithReferences};
use serde_json::Value;

/// The field separator of a PostgreSQL store's notification (`tenant \x1f id`): a tenant
/// holding it could not be named by one, and is never cached.
pub const SEPARATOR: char = '\u{1f}';

/// A cache key: the tenant and the id folded to ASCII lower case, as the triggers send
/// them (a member's `value` names a resource case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    tenant: String,
    id: String,
}

impl Key {
    fn new(tenant: &str, id: &str) -> Self {
        Key {
            tenant: tenant.to_owned(),
            id: id.to_ascii_lowercase(),
        }
    }
}

/// One cached answer.
struct Entry {
    resource_type: String,
    /// The id as asked (the key holds it folded).
    id: String,
    referrer: Referrer,
    answer: WithReferences,
    /// The referring resources (groups) the answer names: a change to any evicts it.
    referrers: Vec<Key>,
    at: Instant,
    /// About what it takes in memory ([`weigh`]).
    bytes: usize,
}

/// Adds to `total` about what `v` takes in memory (32 bytes a node, plus its strings);
/// false, and stops early, once `total` is past `limit`.
fn weigh(v: &Value, limit: usize, total: &mut usize) -> bool {
    *total += 32;
    let within = match v {
        Value::String(s) => {
            *total += s.len();
            true
        }
        Value::Array(a) => a.iter().all(|x| weigh(x, limit, total)),
        Value::Object(m) => m.iter().all(|(k, x)| {
            *total += k.len() + 32;
            weigh(x, limit, total)
        }),
        _ => true,
    };
    within && *total <= limit
}

/// About what `answer` takes in memory, or `None` when it is over `limit`.
fn weight_of(answer: &WithReferences, limit: usize) -> Option<usize> {
    // The text kept with the resource weighs what it holds.
    let mut total = answer.0.text.as_ref().map_or(0, |t| t.len());
    if !weigh(&answer.0.resource, limit, &mut total) {
        return None;
    }
    for r in answer.1.iter().flatten() {
        total += 96 + r.referrer.len() + r.target.len();
        if let Some(d) = &r.display {
            if !weigh(d, limit, &mut total) {
                return None;
            }
        }
    }
    (total <= limit).then_some(total)
}

/// What a read that missed may fill the cache with, if nothing was invalidated meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// How many invalidation slots a cache has (keys share them by hash: a collision only
/// keeps a read from filling).
const SLOTS: usize = 4096;

struct State {
    entries: LruCache<Key, Entry>,
    /// For each referring resource, the cached entries whose answers name it.
    named_by: HashMap<Key, HashSet<Key>>,
    /// Bumped by every invalidation.
    epoch: u64,
    /// The epoch of the last invalidation of any key hashed to each slot.
    slots: Box<[u64]>,
    /// The epoch of the last time everything was dropped.
    cleared: u64,
    /// Whether the listening connection is up (else nothing is cached).
    live: bool,
    /// What the entries take, about ([`weigh`]).
    bytes: usize,
    stats: CacheStats,
}

/// What a store's read cache did since it started ([`ReadCacheHandle::stats`]).
///
/// ```
/// let s = scim_store_cache::CacheStats::default();
/// assert_eq!((s.hits, s.misses, s.fills, s.entries), (0, 0, 0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads answered from memory.
    pub hits: u64,
    /// Reads that went to the database (the cache on, or off for want of a listener).
    pub misses: u64,
    /// Answers kept after a miss.
    pub fills: u64,
    /// Answers kept now.
    pub entries: usize,
}

fn slot(key: &Key) -> usize {
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
    usize::try_from(hash % SLOTS as u64).unwrap_or(0)
}

impl State {
    fn remove(&mut self, key: &Key) {
        if let Some(entry) = self.entries.pop(key) {
            self.forget(key, &entry);
        }
    }

    /// Drops `key` from the reverse lists of `entry`'s referrers, and its weight.
    fn forget(&mut self, key: &Key, entry: &Entry) {
        self.bytes = self.bytes.saturating_sub(entry.bytes);
        for r in &entry.referrers {
            if let Some(set) = self.named_by.get_mut(r) {
                set.remove(key);
                if set.is_empty() {
                    self.named_by.remove(r);
                }
            }
        }
    }

    /// `key` changed: its entry and every entry naming it go.
    fn invalidate(&mut self, key: &Key) {
        self.epoch += 1;
        self.slots[slot(key)] = self.epoch;
        self.remove(key);
        if let Some(naming) = self.named_by.remove(key) {
            for k in naming {
                self.remove(&k);
            }
        }
    }

    fn clear(&mut self) {
        self.epoch += 1;
        self.cleared = self.epoch;
        self.entries.clear();
        self.named_by.clear();
        self.bytes = 0;
    }
}

/// What a read found in a store's cache (if it has one) before going to the database
/// ([`ReadCache::lookup`]).
#[derive(Debug)]
pub enum Lookup {
    /// The answer, from memory.
    Hit(WithReferences),
    /// Not there: read it, then [`ReadCache::fill`] with the ticket (none when the store
    /// has no cache, or the cache is off or may not keep this answer).
    Miss(Option<Ticket>),
}

/// The cache of one store (see the crate docs).
pub struct ReadCache {
    state: Mutex<State>,
    ttl: Duration,
    /// What all entries may take together, about.
    budget: usize,
}

/// The largest share of the cache's bytes one answer may take (a user with thousands of
/// emails is read anew each time rather than pushing out hundreds of others).
const MAX_SHARE: usize = 16;

/// Whether answers for `id` in `tenant` may be cached: stores fold ids to ASCII lower case
/// when they name what changed and a PostgreSQL `text` column holds no NUL, so an id
/// outside printable ASCII (never one a store assigns) or a tenant with a NUL or the
/// [`SEPARATOR`] is always read anew.
fn cacheable(tenant: &str, id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !tenant.contains(['\0', SEPARATOR])
        && !id.is_empty()
}

impl ReadCache {
    /// Room for `capacity` answers taking about `budget` bytes together (one at most a
    /// sixteenth of it), each kept at most `ttl`; off until [`ReadCache::go_live`].
    ///
    /// ```
    /// # use std::{num::NonZeroUsize, time::Duration};
    /// let cache = scim_store_cache::ReadCache::new(NonZeroUsize::MIN, 1 << 20, Duration::ZERO);
    /// assert!(!cache.is_live());
    /// assert!(cache.ticket("t", "u1").is_none(), "off: reads do not fill");
    /// ```
    pub fn new(capacity: NonZeroUsize, budget: usize, ttl: Duration) -> Self {
        ReadCache {
            state: Mutex::new(State {
                entries: LruCache::new(capacity),
                named_by: HashMap::new(),
                epoch: 0,
                slots: vec![0; SLOTS].into_boxed_slice(),
                cleared: 0,
                live: false,
                bytes: 0,
                stats: CacheStats::default(),
            }),
            ttl,
            budget,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached answer for `id`, if there is a fresh one for the same question.
    pub fn get(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: &Referrer,
    ) -> Option<WithReferences> {
        // Without its text: only reads for responses hand that over (`get_text`).
        self.get_as(
            tenant,
            resource_type,
            id,
            referrer,
            |(found, references)| {
                let mut found = found.clone();
                found.text = None;
                (found, references.clone())
            },
        )
    }

    /// [`ReadCache::get`] with the resource as its text only, when the answer kept has
    /// it ([`StoredResource::text_only`](scim_core::StoredResource::text_only)): no copy of
    /// the resource is made.
    pub fn get_text(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: &Referrer,
    ) -> Option<WithReferences> {
        self.get_as(
            tenant,
            resource_type,
            id,
            referrer,
            |(found, references)| (found.text_only(), references.clone()),
        )
    }

    fn get_as(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: &Referrer,
        copy: impl FnOnce(&WithReferences) -> WithReferences,
    ) -> Option<WithReferences> {
        if !cacheable(tenant, id) {
            return None;
        }
        let key = Key::new(tenant, id);
        let mut state = self.state();
        let expired = state.entries.peek(&key).map(|e| e.at.elapsed() > self.ttl);
        if expired == Some(true) {
            state.remove(&key);
        }
        let live = state.live;
        let found = match state.entries.get(&key) {
            Some(entry) if live => (entry.resource_type == resource_type
                && entry.id == id
                && entry.referrer == *referrer)
                .then(|| copy(&entry.answer)),
            _ => None,
        };
        match found {
            Some(_) => state.stats.hits += 1,
            None => state.stats.misses += 1,
        }
        found
    }

    /// The cached answer for `id` in `cache`, or the ticket a read that misses fills it
    /// with.
    ///
    /// ```
    /// # use std::{num::NonZeroUsize, time::Duration};
    /// use scim_store_cache::{Lookup, ReadCache};
    /// let groups = scim_core::Referrer::new("Group", "members");
    /// let off = ReadCache::lookup(None, "t", "User", "u1", &groups);
    /// assert!(matches!(off, Lookup::Miss(None)));
    /// let cache = ReadCache::new(NonZeroUsize::MIN, 1 << 20, Duration::from_secs(1));
    /// cache.go_live();
    /// let on = ReadCache::lookup(Some(&cache), "t", "User", "u1", &groups);
    /// assert!(matches!(on, Lookup::Miss(Some(_))));
    /// ```
    pub fn lookup(
        cache: Option<&ReadCache>,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: &Referrer,
    ) -> Lookup {
        Self::lookup_as(cache, (tenant, resource_type, id), referrer, ReadCache::get)
    }

    /// [`ReadCache::lookup`] with a hit's resource as its text only ([`ReadCache::get_text`]).
    pub fn lookup_text(
        cache: Option<&ReadCache>,
        tenant: &str,
        resource_type: &str,
        id: &str,
        referrer: &Referrer,
    ) -> Lookup {
        Self::lookup_as(
            cache,
            (tenant, resource_type, id),
            referrer,
            ReadCache::get_text,
        )
    }

    /// [`ReadCache::lookup_text`] for a read for a response (`text_only`), else
    /// [`ReadCache::lookup`].
    pub fn lookup_as_asked(
        cache: Option<&ReadCache>,
        (tenant, resource_type, id): (&str, &str, &str),
        referrer: &Referrer,
        text_only: bool,
    ) -> Lookup {
        if text_only {
            Self::lookup_text(cache, tenant, resource_type, id, referrer)
        } else {
            Self::lookup(cache, tenant, resource_type, id, referrer)
        }
    }

    /// Whether a read that missed builds the resource of a text `len` bytes long: the
    /// caller wants the resource (not `text_only`), or the cache may keep it (the read has
    /// a `ticket`, and [`ReadCache::may_keep`]).
    ///
    /// ```
    /// use scim_store_cache::ReadCache;
    /// assert!(ReadCache::worth_building(None, None, false, 10));
    /// assert!(!ReadCache::worth_building(None, None, true, 10), "no cache to fill");
    /// ```
    pub fn worth_building(
        cache: Option<&ReadCache>,
        ticket: Option<&Ticket>,
        text_only: bool,
        len: usize,
    ) -> bool {
        match (ticket, cache) {
            (Some(_), Some(cache)) => !text_only || cache.may_keep(len),
            _ => !text_only,
        }
    }

    /// A resource read (and kept in the cache with its text) as the caller asked: its
    /// text only for a response (`text_only`), else without its text (only reads for
    /// responses hand a text over).
    pub fn as_asked(found: StoredResource, text_only: bool) -> StoredResource {
        if text_only {
            found.text_only()
        } else {
            StoredResource {
                text: None,
                ..found
            }
        }
    }

    fn lookup_as(
        cache: Option<&ReadCache>,
        (tenant, resource_type, id): (&str, &str, &str),
        referrer: &Referrer,
        get: impl FnOnce(&ReadCache, &str, &str, &str, &Referrer) -> Option<WithReferences>,
    ) -> Lookup {
        let Some(cache) = cache else {
            return Lookup::Miss(None);
        };
        match get(cache, tenant, resource_type, id, referrer) {
            Some(answer) => Lookup::Hit(answer),
            None => Lookup::Miss(cache.ticket(tenant, id)),
        }
    }

    /// Taken before a read that missed: what [`ReadCache::fill`] checks. `None` while the
    /// cache is off.
    pub fn ticket(&self, tenant: &str, id: &str) -> Option<Ticket> {
        if !cacheable(tenant, id) {
            return None;
        }
        let state = self.state();
        state.live.then_some(Ticket(state.epoch))
    }

    /// Keeps `answer`, read after `ticket` was taken, unless its key or a key it names was
    /// invalidated since (or everything was dropped).
    pub fn fill(
        &self,
        ticket: Ticket,
        (tenant, resource_type, id): (&str, &str, &str),
        referrer: &Referrer,
        answer: &WithReferences,
    ) {
        let Some(bytes) = weight_of(answer, self.budget / MAX_SHARE) else {
            return;
        };
        let key = Key::new(tenant, id);
        let referrers: Vec<Key> = answer
            .1
            .iter()
            .flatten()
            .map(|r| Key::new(tenant, &r.referrer))
            .collect();
        let mut state = self.state();
        let stale = |k: &Key| state.slots[slot(k)] > ticket.0;
        if !state.live || state.cleared > ticket.0 || stale(&key) || referrers.iter().any(stale) {
            return;
        }
        state.stats.fills += 1;
        state.remove(&key);
        for r in &referrers {
            state
                .named_by
                .entry(r.clone())
                .or_default()
                .insert(key.clone());
        }
        let entry = Entry {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
            referrer: referrer.clone(),
            answer: answer.clone(),
            referrers,
            at: Instant::now(),
            bytes,
        };
        state.bytes += bytes;
        if let Some((old_key, old)) = state.entries.push(key, entry) {
            state.forget(&old_key, &old);
        }
        while state.bytes > self.budget {
            match state.entries.pop_lru() {
                Some((k, old)) => state.forget(&k, &old),
                None => break,
            }
        }
    }

    /// `ids` in `tenant` were written (by this store, or as a notification says).
    pub fn invalidate<'a>(&self, tenant: &str, ids: impl IntoIterator<Item = &'a str>) {
        let mut state = self.state();
        for id in ids {
            state.invalidate(&Key::new(tenant, id));
        }
    }

    /// Everything may have changed: every entry goes, and reads in flight may not fill.
    pub fn clear(&self) {
        self.state().clear();
    }

    /// The store hears of every change from now on (a PostgreSQL store's listening
    /// connection is up): answers are kept and given. What was kept before is dropped
    /// (changes may have been missed), and reads in flight may not fill.
    pub fn go_live(&self) {
        let mut state = self.state();
        state.clear();
        state.live = true;
    }

    /// Changes may go unheard (the listening connection is gone): nothing is kept or
    /// answered until [`ReadCache::go_live`].
    pub fn go_dead(&self) {
        let mut state = self.state();
        state.clear();
        state.live = false;
    }

    /// Whether answers are being kept and given ([`ReadCache::go_live`]).
    pub fn is_live(&self) -> bool {
        self.state().live
    }

    /// Whether an answer whose resource's text is `text_len` bytes is worth building to
    /// be kept: a store that reads the text only for a response builds the resource just
    /// to fill the cache, and [`ReadCache::fill`] refuses an answer that weighs over a
    /// sixteenth of the budget. A resource built weighs about six times its text (a 1.5 MB
    /// user with 25,000 emails, 9 MB), the text kept with it once more: over an eighth of
    /// that share, a text is not worth it.
    ///
    /// ```
    /// # use std::{num::NonZeroUsize, time::Duration};
    /// let cache = scim_store_cache::ReadCache::new(NonZeroUsize::MIN, 1 << 20, Duration::ZERO);
    /// assert!(cache.may_keep(1_000));
    /// assert!(!cache.may_keep(10_000), "over 8 KiB, an eighth of a sixteenth of 1 MiB");
    /// ```
    pub fn may_keep(&self, text_len: usize) -> bool {
        text_len.saturating_mul(8) <= self.budget / MAX_SHARE
    }

    /// What the cache did so far.
    pub fn stats(&self) -> CacheStats {
        let state = self.state();
        CacheStats {
            entries: state.entries.len(),
            ..state.stats
        }
    }

    /// How many answers are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.state().entries.len()
    }
}

/// A store's read cache as a host's metrics see it (what a store hands out, for instance
/// `PostgresStore::read_cache`).
///
/// ```
/// # use std::{num::NonZeroUsize, sync::Arc, time::Duration};
/// use scim_store_cache::{ReadCache, ReadCacheHandle};
/// let cache = Arc::new(ReadCache::new(NonZeroUsize::MIN, 1 << 20, Duration::from_secs(1)));
/// let handle = ReadCacheHandle::new(Arc::clone(&cache));
/// assert!(!handle.is_live());
/// cache.go_live();
/// assert!(handle.is_live());
/// assert_eq!(handle.stats().entries, 0);
/// ```
#[derive(Clone)]
pub struct ReadCacheHandle(Arc<ReadCache>);

impl ReadCacheHandle {
    /// A handle on `cache`.
    pub fn new(cache: Arc<ReadCache>) -> Self {
        ReadCacheHandle(cache)
    }

    /// What the cache did since the store started, and what it holds now.
    pub fn stats(&self) -> CacheStats {
        self.0.stats()
    }

    /// Whether it hears of every change (else it answers nothing and keeps nothing): for
    /// PostgreSQL, whether its connection is listening.
    pub fn is_live(&self) -> bool {
        self.0.is_live()
    }
}

impl std::fmt::Debug for ReadCacheHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCacheHandle")
            .field("stats", &self.stats())
            .field("live", &self.is_live())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_core::{Reference, StoredResource};
    use serde_json::json;

    const T: &str = "t";

    fn groups() -> Referrer {
        Referrer::new("Group", "members")
    }

    fn answer(id: &str, version: u64, in_groups: &[&str]) -> WithReferences {
        (
            StoredResource::new(
                id.to_owned(),
                version,
                json!({"id": id, "userName": format!("{id}-v{version}")}),
            ),
            Some(
                in_groups
                    .iter()
                    .map(|g| Reference::new(*g, id, Some(json!("G"))))
                    .collect(),
            ),
        )
    }

    fn live(capacity: usize) -> ReadCache {
        let c = ReadCache::new(
            NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            1 << 20,
            Duration::from_secs(60),
        );
        c.go_live();
        c
    }

    fn cached(c: &ReadCache, id: &str) -> Option<u64> {
        c.get(T, "User", id, &groups()).map(|(r, _)| r.version)
    }

    fn read(c: &ReadCache, id: &str, version: u64, in_groups: &[&str]) {
        let ticket = c.ticket(T, id).expect("live");
        c.fill(
            ticket,
            (T, "User", id),
            &groups(),
            &answer(id, version, in_groups),
        );
    }

    #[test]
    fn an_answer_is_kept_and_a_change_to_it_or_its_group_evicts_it() {
        let c = live(10);
        read(&c, "u1", 1, &["g1"]);
        read(&c, "u2", 1, &[]);
        assert_eq!(cached(&c, "u1"), Some(1));
        // Another question about the same id is not answered from the entry.
        assert!(c.get(T, "Group", "u1", &groups()).is_none());
        assert!(c.get("other", "User", "u1", &groups()).is_none());
        // The group renamed (a notification naming it): its members' entries go.
        c.invalidate(T, ["g1"]);
        assert_eq!(cached(&c, "u1"), None);
        assert_eq!(cached(&c, "u2"), Some(1));
        // The user itself, named in upper case (a member's value): its entry goes.
        c.invalidate(T, ["U2"]);
        assert_eq!(cached(&c, "u2"), None);
        assert_eq!(c.len(), 0);
        // Nothing is left pointing at evicted entries.
        assert!(c.state().named_by.is_empty());
    }

    #[test]
    fn a_read_that_overlapped_an_invalidation_of_its_keys_does_not_fill() {
        let c = live(10);
        let ticket = c.ticket(T, "u1").expect("live");
        // A write to the user committed and was heard of while the read was in flight.
        c.invalidate(T, ["U1"]);
        c.fill(ticket, (T, "User", "u1"), &groups(), &answer("u1", 1, &[]));
        assert_eq!(cached(&c, "u1"), None);
        // Or to a group the answer names.
        let ticket = c.ticket(T, "u1").expect("live");
        c.invalidate(T, ["g1"]);
        c.fill(
            ticket,
            (T, "User", "u1"),
            &groups(),
            &answer("u1", 1, &["g1"]),
        );
        assert_eq!(cached(&c, "u1"), None);
        // A write to anything else does not keep it from filling.
        let ticket = c.ticket(T, "u1").expect("live");
        c.invalidate(T, ["u9"]);
        c.fill(
            ticket,
            (T, "User", "u1"),
            &groups(),
            &answer("u1", 2, &["g1"]),
        );
        assert_eq!(cached(&c, "u1"), Some(2));
        let s = c.stats();
        assert_eq!((s.fills, s.entries, s.hits), (1, 1, 1));
    }

    #[test]
    fn without_the_listener_nothing_is_kept_or_answered() {
        let c = live(10);
        read(&c, "u1", 1, &[]);
        let ticket = c.ticket(T, "u2").expect("live");
        c.go_dead();
        assert_eq!(cached(&c, "u1"), None);
        assert!(c.ticket(T, "u1").is_none());
        c.fill(ticket, (T, "User", "u2"), &groups(), &answer("u2", 1, &[]));
        c.go_live();
        assert_eq!(cached(&c, "u2"), None, "filled across a gap in listening");
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn ids_a_store_cannot_name_are_never_cached() {
        let c = live(10);
        for (tenant, id) in [
            (T, "é"),
            (T, "a\0b"),
            (T, ""),
            ("t\u{1f}x", "u1"),
            (T, "a\nb"),
        ] {
            assert!(c.ticket(tenant, id).is_none(), "{tenant:?} {id:?}");
            assert!(c.get(tenant, "User", id, &groups()).is_none());
        }
    }

    #[test]
    fn the_byte_budget_bounds_what_is_kept_and_skips_what_is_too_big() {
        // 16 KiB in all, 1 KiB at most each.
        let c = ReadCache::new(
            NonZeroUsize::new(1000).unwrap(),
            16 << 10,
            Duration::from_secs(60),
        );
        c.go_live();
        let big = |id: &str, n: usize| -> WithReferences {
            (
                StoredResource::new(id.to_owned(), 1, json!({"id": id, "title": "x".repeat(n)})),
                None,
            )
        };
        let ticket = c.ticket(T, "huge").unwrap();
        c.fill(ticket, (T, "User", "huge"), &groups(), &big("huge", 2000));
        assert_eq!(c.len(), 0, "over a sixteenth of the budget");
        for i in 0..40 {
            let id = format!("u{i}");
            let ticket = c.ticket(T, &id).unwrap();
            c.fill(ticket, (T, "User", &id), &groups(), &big(&id, 600));
        }
        let state = c.state();
        assert!(state.bytes <= 16 << 10, "{}", state.bytes);
        assert!(state.entries.len() < 40 && state.entries.len() > 10);
        let counted: usize = state.entries.iter().map(|(_, e)| e.bytes).sum();
        assert_eq!(counted, state.bytes);
    }

    #[test]
    fn clear_drops_everything_and_reads_in_flight() {
        let c = live(10);
        read(&c, "u1", 1, &[]);
        let ticket = c.ticket(T, "u2").expect("live");
        c.clear();
        assert_eq!(cached(&c, "u1"), None);
        c.fill(ticket, (T, "User", "u2"), &groups(), &answer("u2", 1, &[]));
        assert_eq!(cached(&c, "u2"), None, "read before the clear");
    }

    #[test]
    fn the_capacity_and_the_age_bound_what_is_kept() {
        let c = live(2);
        read(&c, "u1", 1, &["g1"]);
        read(&c, "u2", 1, &["g1"]);
        read(&c, "u3", 1, &["g1"]);
        assert_eq!(c.len(), 2);
        assert_eq!(cached(&c, "u1"), None, "the least recently used went");
        assert_eq!(
            c.state().named_by.get(&Key::new(T, "g1")).map(HashSet::len),
            Some(2)
        );
        let aged = ReadCache::new(NonZeroUsize::MIN, 1 << 20, Duration::ZERO);
        aged.go_live();
        read(&aged, "u1", 1, &[]);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(cached(&aged, "u1"), None);
    }
}
