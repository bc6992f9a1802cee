//! A SQLite [`Store`] for scim-core: one file, durable writes (WAL, synced before a write is
//! answered), optimistic concurrency on versions, uniqueness in a table of its own,
//! and filters, sorting and paging pushed down to SQL where that is exact.
//!
//! ```
//! use scim_core::{block_on, Query, Store, StoreSchema};
//! use scim_filter::{CompiledFilter, Filter};
//! use scim_store_sqlite::SqliteStore;
//!
//! let registry = scim_schema::Registry::standard();
//! let store = SqliteStore::open_in_memory(StoreSchema::of(&registry))?;
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
//!     filter: Some(&compiled),
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
//! The store holds no schema: it translates the filter's resolved form
//! ([`scim_filter::CompiledFilter::resolved`], every attribute already resolved by the
//! engine against its schema: where its values are, type, caseExact) and sorts by the
//! characteristics [`scim_core::Sort::attribute`] carries. What it needs beyond each call
//! (which attribute goes out of line, which values are never searchable) is a
//! [`StoreSchema`] given at open, made from the engine's registry ([`StoreSchema::of`]).
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
//! A resource with more values of one of these attributes than
//! [`SqliteOptions::max_indexed_values`] (default 100; a user with 25,000 emails) is not
//! indexed value by value for it: it is recorded in the table `capped (tenant,
//! resource_type, attr, id)` instead, so writing it takes time linear in its size and
//! writes no index rows. A lookup of that attribute then also reads the documents of the
//! capped resources of the type (and only those, in SQL, with the same keys the index would
//! hold): answers stay exact and pushed down, at the cost of reading those documents for
//! such filters. Filters on other attributes are not affected.
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
//! # Read cache
//!
//! `GET /Users/{id}` ([`Store::get_with_references`]) is answered from memory while nothing
//! it depends on has changed ([`SqliteOptions::read_cache`], [`CacheOptions`]): the
//! store's own writes evict what they touch before they are answered, another process's
//! writes to the file are noticed within [`CacheOptions::poll`].
//!
//! # Schema version
//!
//! The file's layout is versioned with `PRAGMA user_version` (now 4). A file written
//! before the side tables existed (version 0) is migrated when opened: columns and tables
//! are added and every resource is rewritten once (index keys, members moved out of line),
//! in one transaction. A file from before version 2 may hold passwords in clear: they are
//! hashed on open ([`SqliteStore::open_with_passwords`] names the scheme). A file of version
//! 1 or 2 gets its trigram index (version 3) on open, filled from `attr_index` in SQL.
//! Any older file gets the empty `capped` table (version 4): what it indexed stays exact.
//!
//! # Secrets
//!
//! The engine hands the store only hashes of `returned: never` values (passwords); the
//! `search` column and the index tables leave them out, ids are version-7 UUIDs with 74
//! random bits (or random version-4 ones, [`SqliteOptions::time_ordered_ids`]), and
//! the database files are readable by their owner only (0600).
//!
//! # Loading
//!
//! [`SqliteStore::create_batch`] stores many resources in one transaction (one durable
//! commit), with the same code as [`Store::create`].

mod cache;
mod keys_of;
mod migrations;
mod open;
mod pool;
mod read;
mod references;
mod scan_cost;
mod store_impl;
mod translate;
mod trigrams;
mod write;

/// The row layout, shared with the other SQL stores.
use scim_store_layout as layout;

pub use cache::CacheOptions;
pub use open::SqliteOptions;
pub(crate) use read::attach_members;
pub use scim_store_cache::{CacheStats, ReadCacheHandle};
pub(crate) use write::{
    current_version, index_unique, member_state, update_row, version_param, write_keys,
    write_side_tables,
};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use scim_core::secret::Entropy;
// Named by the documentation's links.
use scim_core::StoreError;
use scim_core::StoreSchema;
#[cfg(doc)]
use scim_core::{Query, Store};

use layout::{names_attribute, out_of_line_of};
use pool::Pool;
pub use pool::PoolOptions;

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
/// - `capped (tenant, resource_type, attr, id)`: the resources with more keys of one
///   `attr_index` label than [`SqliteOptions::max_indexed_values`], which have none of them
///   in the two tables above (lookups of the label read their documents instead).
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
    /// What the store knows of the resource types (what goes out of line, what is hidden).
    schema: StoreSchema,
    entropy: Arc<dyn Entropy>,
    /// [`SqliteOptions::time_ordered_ids`].
    time_ordered_ids: bool,
    /// [`PoolOptions::max_scan`].
    max_scan: u64,
    /// [`SqliteOptions::max_indexed_values`].
    max_indexed_values: usize,
    /// The number of resources of each (tenant, type), as last counted, and when.
    counts: std::sync::Mutex<HashMap<(String, String), (u64, std::time::Instant)>>,
    /// The read cache ([`SqliteOptions::read_cache`]), unless it is off.
    cache: Option<Arc<scim_store_cache::ReadCache>>,
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

impl Core {
    pub(crate) fn ool(&self, rt: &str) -> Option<&str> {
        out_of_line_of(&self.schema, rt)
    }
}

#[cfg(test)]
mod tests;
