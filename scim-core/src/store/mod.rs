//! The storage trait a host implements, and the in-memory reference store.
//!
//! Methods return futures (`impl Future + Send`), so the engine runs on any executor and a
//! synchronous store simply returns `std::future::ready(..)`.

mod memory;

use std::future::Future;

use scim_filter::{AttrPath, CompiledFilter, Filter};
use serde_json::Value;

pub use memory::MemoryStore;

/// A stored resource: its id, its version (for ETags and optimistic concurrency) and its
/// JSON (with `id` and `meta.created`/`lastModified`/`resourceType`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    /// The id.
    pub id: String,
    /// Incremented on every write.
    pub version: u64,
    /// The resource.
    pub resource: Value,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such resource.
    #[error("not found")]
    NotFound,
    /// The resource's version is not the expected one.
    #[error("version mismatch")]
    VersionMismatch,
    /// A unique value is taken.
    #[error("`{attribute}` is already in use")]
    Conflict {
        /// The attribute.
        attribute: String,
    },
    /// The store failed; the text is for logs, never for clients.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// A value that must be unique among the resources of a type in a tenant
/// (`uniqueness: server`), normalised (lower-cased unless caseExact).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UniqueKey {
    /// The attribute, e.g. `userName`.
    pub attribute: String,
    /// The normalised value.
    pub value: String,
}

/// Sorting (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy)]
pub struct Sort<'a> {
    /// The attribute.
    pub path: &'a AttrPath,
    /// `sortOrder=descending`.
    pub descending: bool,
}

/// A list query: filter, sort and page (RFC 7644 §3.4.2). A store applies what it can and
/// says so in [`QueryResult`]; the engine completes the rest in memory.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The filter as parsed.
    pub filter: Option<&'a Filter>,
    /// The filter compiled against the resource type (caseExact, types, URN locations).
    pub compiled: Option<&'a CompiledFilter>,
    /// The sort.
    pub sort: Option<Sort<'a>>,
    /// 1-based start index.
    pub start_index: usize,
    /// Maximum number of resources.
    pub count: usize,
    /// When set, the engine reads only these top-level attributes (and `id`) of the results:
    /// a store may return just those (e.g. the display names of 100,000 group members).
    pub attributes: Option<&'a [&'a str]>,
}

/// What a store returns for a [`Query`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryResult {
    /// The resources (the page, when `paged`).
    pub resources: Vec<StoredResource>,
    /// The number of matching resources (when `filtered`).
    pub total_results: usize,
    /// Whether the filter was applied exactly.
    pub filtered: bool,
    /// Whether the sort was applied.
    pub sorted: bool,
    /// Whether `start_index`/`count` were applied.
    pub paged: bool,
}

/// Where a host keeps resources. Every method is scoped to a tenant and a resource type
/// (its name, e.g. `User`).
pub trait Store: Send + Sync {
    /// The resource with `id`, if any.
    fn get(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredResource>, StoreError>> + Send;

    /// Stores a new resource; the store assigns the id (and sets `id` in the JSON) and
    /// version 1. Refuses with [`StoreError::Conflict`] when a unique key is taken.
    fn create(
        &self,
        tenant: &str,
        resource_type: &str,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send;

    /// Replaces the resource if its version is `expected_version`; the new version is
    /// `expected_version + 1`.
    fn replace(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: u64,
        resource: Value,
        unique: Vec<UniqueKey>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send;

    /// Deletes the resource, if its version is `expected_version` (when given).
    fn delete(
        &self,
        tenant: &str,
        resource_type: &str,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lists resources.
    fn query(
        &self,
        tenant: &str,
        resource_type: &str,
        query: Query<'_>,
    ) -> impl Future<Output = Result<QueryResult, StoreError>> + Send;
}
